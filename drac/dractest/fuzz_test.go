package dractest_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/drac/dractest"
)

// FuzzBMC sends arbitrary bodies to every endpoint of the emulator that
// parses one: it must answer, never panic, and stay in a valid state.
func FuzzBMC(f *testing.F) {
	f.Add(0, `{"ResetType":"ForceOff"}`)
	f.Add(1, `{"UserName":"root","Password":"calvin"}`)
	f.Add(2, "user=root&password=calvin")
	f.Add(3, `<?xml version='1.0'?><LOGIN><REQ><USERNAME>root</USERNAME><PASSWORD>calvin</PASSWORD></REQ></LOGIN>`)
	f.Add(4, `<EXEC><REQ><CMDINPUT>racadm serveraction powerdown</CMDINPUT></REQ></EXEC>`)
	f.Add(0, `{"ResetType":null}`)
	f.Add(4, `<EXEC><REQ><CMDINPUT>racadm &amp; <x/></CMDINPUT>`)
	paths := []string{
		system + "/Actions/ComputerSystem.Reset",
		"/redfish/v1/SessionService/Sessions",
		"/cgi-bin/webcgi/login",
		"/cgi-bin/login",
		"/cgi-bin/exec",
	}
	f.Fuzz(func(t *testing.T, endpoint int, body string) {
		bmc := dractest.New("root", "calvin")
		if endpoint < 0 {
			endpoint = -endpoint
		}
		path := paths[endpoint%len(paths)]
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.SetBasicAuth("root", "calvin")
		if path == "/cgi-bin/webcgi/login" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		w := httptest.NewRecorder()
		bmc.ServeHTTP(w, req)
		if w.Code == 0 || w.Code >= 500 {
			t.Fatalf("%s: HTTP %d", path, w.Code)
		}
		if p := bmc.Power(); p != pxelator.PowerOn && p != pxelator.PowerOff {
			t.Fatalf("state %s", p)
		}
	})
}
