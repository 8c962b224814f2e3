package amt_test

import (
	"strings"
	"testing"

	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
)

func TestIdentify(t *testing.T) {
	for _, version := range []string{"AMT 11.8", "AMT 5.2"} {
		srv := amttest.NewServer(amttest.Options{Version: version})
		// Identify needs no credentials.
		c, err := amt.NewClient(srv.URL, amt.Config{})
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.Identify(ctxT(t))
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		if id.ProductVendor != "Intel(r)" || id.ProductVersion != version || id.Legacy() != (version == "AMT 5.2") {
			t.Errorf("Identify = %+v, legacy %t", id, id.Legacy())
		}
		if srv.Unauthorized() != 0 {
			t.Errorf("Identify was challenged")
		}
	}
}

func TestIdentifyVector(t *testing.T) {
	body := string(readVector(t, "identify.response-body.xml"))
	// The vector is a template with the version left out.
	id, err := vectorServer(t, 200, wrapBody(body)).Identify(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if id.ProductVendor != "Intel(r)" || id.ProductVersion != "AMT %s" || id.ProtocolVersion != "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" {
		t.Errorf("Identify = %+v", id)
	}
	if _, _, ok := id.AMTVersion(); ok {
		t.Errorf("AMTVersion of a template: ok")
	}
	id, err = vectorServer(t, 200, wrapBody(strings.Replace(body, "AMT %s", "AMT 16.1", 1))).Identify(ctxT(t))
	if maj, min, ok := id.AMTVersion(); err != nil || !ok || maj != 16 || min != 1 || id.Legacy() {
		t.Errorf("AMT 16.1: %d.%d %t %v", maj, min, ok, err)
	}
}

func TestAMTVersion(t *testing.T) {
	tests := []struct {
		in         string
		maj, min   int
		ok, legacy bool
	}{
		{"AMT 11.8", 11, 8, true, false},
		{"AMT 6", 6, 0, true, false},
		{"AMT 2.6", 2, 6, true, true},
		{"Intel AMT", 0, 0, false, false},
		{"AMT x.1", 0, 0, false, false},
		{"AMT 3.y", 0, 0, false, false},
	}
	for _, tt := range tests {
		id := amt.Identity{ProductVersion: tt.in}
		maj, min, ok := id.AMTVersion()
		if maj != tt.maj || min != tt.min || ok != tt.ok || id.Legacy() != tt.legacy {
			t.Errorf("%q: %d.%d %t legacy %t", tt.in, maj, min, ok, id.Legacy())
		}
	}
}
