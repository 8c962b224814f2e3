package amttest_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/icholy/digest"
	"github.com/pxelator/pxelator"
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

// post sends body to srv through icholy/digest and returns the status
// and answer.
func post(t *testing.T, srv *amttest.Server, path string, body []byte, header http.Header) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{Transport: &digest.Transport{Username: srv.Username(), Password: srv.Password()}}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

const maasHeader = `<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">
<s:Header>
  <wsa:Action s:mustUnderstand="true">http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_PowerManagementService/RequestPowerStateChange</wsa:Action>
  <wsa:To s:mustUnderstand="true">http://10.0.0.5:16992/wsman</wsa:To>
  <wsman:ResourceURI s:mustUnderstand="true">http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_PowerManagementService</wsman:ResourceURI>
  <wsa:MessageID s:mustUnderstand="true">uuid:c86a90bb-66ae-401e-8e6f-4a48e06d4a4f</wsa:MessageID>
  <wsa:ReplyTo><wsa:Address>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>
  <wsman:SelectorSet>
    <wsman:Selector Name="CreationClassName">CIM_PowerManagementService</wsman:Selector>
    <wsman:Selector Name="Name">Intel(r) AMT Power Management Service</wsman:Selector>
    <wsman:Selector Name="SystemCreationClassName">CIM_ComputerSystem</wsman:Selector>
    <wsman:Selector Name="SystemName">Intel(r) AMT</wsman:Selector>
  </wsman:SelectorSet>
</s:Header>
<s:Body>`

// TestRequestVectors sends the recorded requests, in both client styles,
// and checks the emulator's answers and state.
func TestRequestVectors(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{QOP: "auth-int, auth"})
	defer srv.Close()

	status, ans := post(t, srv, "/wsman", readVector(t, "get-associatedpower.request.xml"), nil)
	if status != 200 || !strings.Contains(ans, "<g:PowerState>2</g:PowerState>") || !strings.Contains(ans, "<b:RelatesTo>0</b:RelatesTo>") {
		t.Fatalf("Get: %d %s", status, ans)
	}

	status, ans = post(t, srv, "/wsman", readVector(t, "requestpowerstatechange-off.request.xml"), nil)
	if status != 200 || !strings.Contains(ans, "<g:ReturnValue>0</g:ReturnValue>") || srv.State() != pxelator.PowerOff {
		t.Fatalf("off: %d %s; state %v", status, ans, srv.State())
	}
	status, ans = post(t, srv, "/wsman", readVector(t, "requestpowerstatechange-off.request.xml"), nil)
	if status != 200 || !strings.Contains(ans, "<g:ReturnValue>2</g:ReturnValue>") {
		t.Fatalf("off when off: %d %s, want ReturnValue 2", status, ans)
	}

	maas := maasHeader + string(readVector(t, "requestpowerstatechange-on.maas-style.request-body.xml")) + "</s:Body></s:Envelope>"
	status, ans = post(t, srv, "/wsman", []byte(maas), nil)
	if status != 200 || !strings.Contains(ans, "<g:ReturnValue>0</g:ReturnValue>") || srv.State() != pxelator.PowerOn ||
		!strings.Contains(ans, "uuid:c86a90bb-66ae-401e-8e6f-4a48e06d4a4f") {
		t.Fatalf("maas-style on: %d %s; state %v", status, ans, srv.State())
	}

	// The legacy request as recorded: headers and body.
	br := bufio.NewReader(bytes.NewReader(readVector(t, "legacy-getsystempowerstate.request.http")))
	req, err := http.ReadRequest(br)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(br) // the recording has no Content-Length
	if !bytes.Contains(body, []byte("GetSystemPowerState")) {
		t.Fatalf("recorded body: %q", body)
	}
	status, ans = post(t, srv, req.URL.Path, body, req.Header)
	if status != 200 || !strings.Contains(ans, "<rci:Status>0</rci:Status><rci:SystemPowerState>0</rci:SystemPowerState>") {
		t.Fatalf("GetSystemPowerState: %d %s", status, ans)
	}
	powerUp := `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		string(readVector(t, "legacy-remotecontrol-powerup.request-body.xml")) + `</soap:Body></soap:Envelope>`
	status, ans = post(t, srv, "/RemoteControlService", []byte(powerUp), nil)
	if status != 200 || !strings.Contains(ans, "<rci:Status>16</rci:Status>") {
		t.Fatalf("power up when on: %d %s, want status 0x10 (not permitted)", status, ans)
	}
}

func TestFaults(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{})
	defer srv.Close()
	get := string(readVector(t, "get-associatedpower.request.xml"))
	tests := []struct {
		name, path, body string
		status           int
		want             string
	}{
		{"unknown resource", "/wsman", strings.Replace(get, "CIM_AssociatedPowerManagementService", "CIM_NoSuchThing", 1), 400, "b:DestinationUnreachable"},
		{"unknown action", "/wsman", strings.Replace(get, "transfer/Get", "transfer/Delete", 1), 400, "b:ActionNotSupported"},
		{"bad XML", "/wsman", "<Envelope><Body>", 400, "SchemaValidationError"},
		{"not an envelope", "/wsman", "<html/>", 400, "SchemaValidationError"},
		{"Pull without Enumerate", "/wsman", strings.Replace(strings.Replace(get, "transfer/Get", "enumeration/Pull", 1),
			"<Body></Body>", `<Body><Pull xmlns="http://schemas.xmlsoap.org/ws/2004/09/enumeration"><EnumerationContext>nope</EnumerationContext></Pull></Body>`, 1),
			400, "InvalidEnumerationContext"},
		{"unknown legacy method", "/RemoteControlService", `<Envelope><Body><Format/></Body></Envelope>`, 500, "faultcode"},
		{"unknown path", "/index.htm", "", 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ans := post(t, srv, tt.path, []byte(tt.body), nil)
			if status != tt.status || !strings.Contains(ans, tt.want) {
				t.Errorf("%d %s; want %d with %q", status, ans, tt.status, tt.want)
			}
		})
	}
	if srv.State() != pxelator.PowerOn || len(srv.Changes()) != 0 {
		t.Errorf("faults changed the state")
	}
}

// TestDigestChecks checks that the emulator refuses what a real device
// refuses.
func TestDigestChecks(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{NonceUses: 2})
	defer srv.Close()
	body := readVector(t, "get-associatedpower.request.xml")
	send := func(auth string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/wsman", bytes.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	resp := send("")
	h := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != 401 || !strings.HasPrefix(h, `Digest realm="`+amttest.DefaultRealm+`", nonce="`) || !strings.HasSuffix(h, `",stale="false",qop="auth"`) {
		t.Fatalf("challenge %d %q", resp.StatusCode, h)
	}
	chal, err := digest.ParseChallenge(h)
	if err != nil {
		t.Fatal(err)
	}
	cred := func(nc int, password string) string {
		c, err := digest.Digest(chal, digest.Options{Method: "POST", URI: "/wsman", Username: srv.Username(), Password: password, Count: nc, Cnonce: "0a4f113b"})
		if err != nil {
			t.Fatal(err)
		}
		return c.String()
	}
	tests := []struct {
		name   string
		auth   string
		status int
		stale  bool
	}{
		{"wrong password", cred(1, "wrong"), 401, false},
		{"good", cred(1, srv.Password()), 200, false},
		{"replayed nc", cred(1, srv.Password()), 401, false},
		{"next nc", cred(2, srv.Password()), 200, false},
		{"nonce used up", cred(3, srv.Password()), 401, true},
		{"basic", "Basic YWRtaW46UEBzc3cwcmQ=", 401, false},
		{"garbage", `Digest username="admin", nonce=`, 401, false},
	}
	for _, tt := range tests {
		resp := send(tt.auth)
		stale := strings.Contains(resp.Header.Get("WWW-Authenticate"), `stale="true"`)
		if resp.StatusCode != tt.status || stale != tt.stale {
			t.Errorf("%s: HTTP %d stale=%t; want %d stale=%t", tt.name, resp.StatusCode, stale, tt.status, tt.stale)
		}
	}
}

// FuzzParseRequest feeds arbitrary requests to the emulator's parser.
func FuzzParseRequest(f *testing.F) {
	for _, name := range []string{"get-associatedpower.request.xml", "requestpowerstatechange-off.request.xml"} {
		f.Add(readVector(f, name))
	}
	f.Add([]byte(maasHeader + string(readVector(f, "requestpowerstatechange-on.maas-style.request-body.xml")) + "</s:Body></s:Envelope>"))
	f.Add([]byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
		string(readVector(f, "legacy-remotecontrol-powerup.request-body.xml")) + `</soap:Body></soap:Envelope>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := amttest.ParseRequest(data)
		if err != nil {
			return
		}
		if r.Params == nil || r.Selectors == nil {
			t.Fatal("nil maps")
		}
	})
}

// TestServeTruncatedBodies checks that a request cut short is a fault
// and changes nothing.
func TestServeTruncatedBodies(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{})
	defer srv.Close()
	body := bytes.TrimSpace(readVector(t, "requestpowerstatechange-off.request.xml"))
	for _, n := range []int{0, 1, 40, len(body) / 2, len(body) - 1} {
		status, _ := post(t, srv, "/wsman", body[:n], nil)
		if status != 400 {
			t.Errorf("body cut at %d: HTTP %d, want 400", n, status)
		}
	}
	if srv.State() != pxelator.PowerOn {
		t.Errorf("a truncated request changed the state")
	}
}
