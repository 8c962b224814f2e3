package amt_test

import (
	"bufio"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/icholy/digest"
	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
)

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorServer answers every request with the recorded body, without
// authentication, as the device did.
func vectorServer(t *testing.T, status int, body []byte) *amt.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/soap+xml;charset=UTF-8")
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := amt.NewClient(srv.URL, amt.Config{Password: "unused"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wrapBody(body string) []byte {
	return []byte(`<a:Envelope xmlns:a="http://www.w3.org/2003/05/soap-envelope" xmlns:b="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd" xmlns:c="http://schemas.dmtf.org/wbem/dash/1/dash.xsd" xmlns:g="http://schemas.xmlsoap.org/ws/2004/09/enumeration">` +
		body + `</a:Envelope>`)
}

func TestResponseVectors(t *testing.T) {
	ctx := ctxT(t)

	t.Run("Get", func(t *testing.T) {
		info, err := vectorServer(t, 200, readVector(t, "get-associatedpower.response.xml")).PowerInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.PowerState != 2 || info.State() != pxelator.PowerOn || !slices.Equal(info.Available, []int{10, 8, 5, 11, 4, 7, 14, 12}) {
			t.Errorf("PowerInfo = %+v", info)
		}
	})
	t.Run("ReturnValue 0", func(t *testing.T) {
		if err := vectorServer(t, 200, readVector(t, "requestpowerstatechange.ok.response.xml")).RequestPowerStateChange(ctx, amt.CIMOff); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ReturnValue 2", func(t *testing.T) {
		err := vectorServer(t, 200, readVector(t, "requestpowerstatechange.rejected.response.xml")).RequestPowerStateChange(ctx, amt.CIMOn)
		var rv *amt.ReturnValueError
		if !errors.As(err, &rv) || rv.Code != 2 || !strings.Contains(err.Error(), "PowerState 2 (on)") {
			t.Fatalf("err = %v, want ReturnValue 2 for PowerState 2", err)
		}
	})
	t.Run("fault", func(t *testing.T) {
		err := vectorServer(t, 400, readVector(t, "fault-destination-unreachable.response.xml")).RequestPowerStateChange(ctx, amt.CIMOn)
		var f *amt.Fault
		if !errors.As(err, &f) || f.Code != "Sender" || f.Subcode != "DestinationUnreachable" || f.Status != 400 ||
			!strings.Contains(f.Reason, "No route can be determined") {
			t.Fatalf("err = %#v", err)
		}
		t.Log(err)
	})
	t.Run("Enumerate", func(t *testing.T) {
		// The EnumerateResponse body, then a Pull that the vector server
		// answers with the same body: no items, so no instance.
		_, err := vectorServer(t, 200, wrapBody(string(readVector(t, "enumerate-associatedpower.response-body.xml")))).EnumeratePowerInfo(ctx)
		if err == nil || !strings.Contains(err.Error(), "no PullResponse") {
			t.Fatalf("err = %v, want the Pull answer to be found missing", err)
		}
	})
	t.Run("legacy GetSystemPowerState", func(t *testing.T) {
		c := vectorServer(t, 200, readVector(t, "legacy-getsystempowerstate.response.xml"))
		n, err := c.SystemPowerState(ctx)
		if err != nil || n != 0 {
			t.Fatalf("SystemPowerState = %d, %v", n, err)
		}
	})
}

// TestLegacyStateMask checks that only the low four bits of
// SystemPowerState are the ACPI state.
func TestLegacyStateMask(t *testing.T) {
	tests := []struct {
		value string
		want  pxelator.PowerState
	}{
		{"0", pxelator.PowerOn}, {"16", pxelator.PowerOn}, {"3", pxelator.PowerSleep},
		{"5", pxelator.PowerOff}, {"69", pxelator.PowerOff}, {"7", pxelator.PowerOff}, {"9", pxelator.PowerUnknown},
	}
	for _, tt := range tests {
		body := strings.Replace(string(readVector(t, "legacy-getsystempowerstate.response.xml")),
			"<rci:SystemPowerState>0<", "<rci:SystemPowerState>"+tt.value+"<", 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
		c, _ := amt.NewClient(srv.URL, amt.Config{Legacy: true})
		got, err := c.PowerState(ctxT(t))
		srv.Close()
		if err != nil || got != tt.want {
			t.Errorf("SystemPowerState %s: PowerState() = %v, %v; want %v", tt.value, got, err, tt.want)
		}
	}
}

// TestDigestVector checks the recorded digest computation against the
// emulator's check and against icholy/digest with the recorded challenge.
func TestDigestVector(t *testing.T) {
	kv := map[string]string{}
	for _, f := range strings.Fields(string(readVector(t, "digest-vector.txt"))) {
		k, v, _ := strings.Cut(f, "=")
		kv[k] = v
	}
	got := amttest.Response(kv["user"], kv["realm"], kv["pass"], kv["method"], kv["uri"], kv["nonce"], kv["nc"], kv["cnonce"], kv["qop"], "")
	if got != kv["response"] {
		t.Errorf("amttest.Response = %s, want %s", got, kv["response"])
	}

	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(readVector(t, "digest-challenge-amt11.http")))), nil)
	if err != nil {
		t.Fatal(err)
	}
	chal, err := amt.FindChallenge(resp.Header)
	if err != nil {
		t.Fatal(err)
	}
	if chal.Realm != kv["realm"] || chal.Nonce != kv["nonce"] || chal.Stale || !slices.Equal(chal.QOP, []string{"auth"}) {
		t.Fatalf("challenge = %+v", chal)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "POST", URI: "/wsman", Username: kv["user"], Password: kv["pass"], Cnonce: kv["cnonce"], Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	if cred.Response != kv["response"] {
		t.Errorf("icholy/digest response = %s, want %s", cred.Response, kv["response"])
	}
}

func TestFindChallengeForms(t *testing.T) {
	tests := []struct {
		header string
		qop    []string
	}{
		{`Digest realm="R", nonce="N",stale="false",qop="auth"`, []string{"auth"}},
		{`Digest realm="R", nonce="N",stale="false",qop="auth-int, auth"`, []string{"auth-int", "auth"}},
		{`Digest realm="R",nonce="N",qop="auth,auth-int"`, []string{"auth", "auth-int"}},
		{`Digest realm="R", nonce="N", qop=" auth"`, []string{"auth"}},
		{`Digest realm="R", nonce="N"`, nil},
	}
	for _, tt := range tests {
		h := http.Header{"Www-Authenticate": {`Basic realm="x"`, tt.header}}
		chal, err := amt.FindChallenge(h)
		if err != nil {
			t.Errorf("%s: %v", tt.header, err)
			continue
		}
		if !slices.Equal(chal.QOP, tt.qop) || chal.Realm != "R" || chal.Nonce != "N" {
			t.Errorf("%s: got %+v", tt.header, chal)
		}
		// With "auth" on offer the client answers plain auth.
		if slices.Contains(tt.qop, "auth") {
			cred, err := digest.Digest(chal, digest.Options{Method: "POST", URI: "/wsman", Username: "u", Password: "p"})
			if err != nil || cred.QOP != "auth" {
				t.Errorf("%s: digest qop = %v, %v; want auth", tt.header, cred, err)
			}
		}
	}
	if _, err := amt.FindChallenge(http.Header{"Www-Authenticate": {`Digest realm="R", nonce="N", algorithm=SHA-999`}}); err == nil {
		t.Errorf("unsupported algorithm accepted")
	}
}
