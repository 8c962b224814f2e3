package dractest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/drac/dractest"
)

const system = "/redfish/v1/Systems/" + dractest.SystemID

func TestRedfishAnswers(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		auth                     bool
		wantCode                 int
		wantID                   string // MessageId of the error body
	}{
		{"service root without auth", "GET", "/redfish/v1", "", false, 200, ""},
		{"system without auth", "GET", system, "", false, 401, "IDRAC.2.1.SYS415"},
		{"system", "GET", system, "", true, 200, ""},
		{"unknown resource", "GET", "/redfish/v1/Systems/2", "", true, 404, "Base.1.5.ResourceMissingAtURI"},
		{"wrong method", "DELETE", system, "", true, 405, "Base.1.5.OperationNotAllowed"},
		{"malformed JSON", "POST", system + "/Actions/ComputerSystem.Reset", `{"ResetType":`, true, 400, "Base.1.5.MalformedJSON"},
		{"no ResetType", "POST", system + "/Actions/ComputerSystem.Reset", `{}`, true, 400, "Base.1.5.ActionParameterMissing"},
		{"unknown ResetType", "POST", system + "/Actions/ComputerSystem.Reset", `{"ResetType":"Explode"}`, true, 400, "Base.1.5.ActionParameterValueNotInList"},
		{"already on", "POST", system + "/Actions/ComputerSystem.Reset", `{"ResetType":"On"}`, true, 409, "IDRAC.2.1.PSU501"},
		{"session with a wrong password", "POST", "/redfish/v1/SessionService/Sessions", `{"UserName":"root","Password":"x"}`, false, 401, "IDRAC.2.1.SYS415"},
	}
	bmc := dractest.New("root", "calvin")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.auth {
				r.SetBasicAuth("root", "calvin")
			}
			w := httptest.NewRecorder()
			bmc.ServeHTTP(w, r)
			if w.Code != tt.wantCode {
				t.Fatalf("HTTP %d, want %d: %s", w.Code, tt.wantCode, w.Body)
			}
			if tt.wantID == "" {
				return
			}
			var e struct {
				Error struct {
					Extended []struct{ MessageId string } `json:"@Message.ExtendedInfo"`
				} `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || len(e.Error.Extended) != 1 || e.Error.Extended[0].MessageId != tt.wantID {
				t.Fatalf("body %s: want MessageId %s (%v)", w.Body, tt.wantID, err)
			}
		})
	}
	if bmc.Power() != pxelator.PowerOn || len(bmc.Actions()) != 0 {
		t.Errorf("refused requests changed the state: %s %q", bmc.Power(), bmc.Actions())
	}
}

// Use the emulator with nothing but net/http.
func ExampleNewServer() {
	bmc := dractest.New("root", "calvin")
	srv := dractest.NewServer(bmc)
	defer srv.Close()

	forceOff := func() (*http.Response, error) {
		req, err := http.NewRequest("POST", srv.URL+system+"/Actions/ComputerSystem.Reset",
			strings.NewReader(`{"ResetType":"ForceOff"}`))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth("root", "calvin")
		return http.DefaultClient.Do(req)
	}
	resp, err := forceOff()
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, bmc.Power())

	resp, err = forceOff()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.Contains(string(b), "Server is already powered OFF."))
	// Output:
	// 204 off
	// 409 true
}
