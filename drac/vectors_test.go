package drac

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pxelator/pxelator"
)

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeSystemVector(t *testing.T) {
	sys, err := decodeSystem(readVector(t, "redfish-system-embedded-1.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := &System{
		ID:           "System.Embedded.1",
		Path:         "/redfish/v1/Systems/System.Embedded.1",
		Manufacturer: "Dell Inc.",
		Model:        "PowerEdge R6515",
		PowerState:   "On",
		ResetTarget:  "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset",
		ResetTypes: []string{"On", "ForceOff", "ForceRestart", "GracefulRestart", "GracefulShutdown",
			"PushPowerButton", "Nmi", "PowerCycle"},
	}
	if sys.ID != want.ID || sys.Path != want.Path || sys.Manufacturer != want.Manufacturer ||
		sys.Model != want.Model || sys.PowerState != want.PowerState || sys.ResetTarget != want.ResetTarget ||
		!slices.Equal(sys.ResetTypes, want.ResetTypes) {
		t.Errorf("got %+v\nwant %+v", sys, want)
	}
	if sys.Power() != pxelator.PowerOn {
		t.Errorf("Power() = %s", sys.Power())
	}
}

func TestDecodeErrorVector(t *testing.T) {
	e := decodeError("reset On", 409, readVector(t, "redfish-reset-409-already-on.json"))
	if e.Message != "Server is already powered ON." || e.MessageID != "IDRAC.2.1.PSU501" ||
		e.Code != "Base.1.5.GeneralError" || e.Resolution != "No response action is required." {
		t.Errorf("got %+v", e)
	}
	if e.StatusCode != 409 || !errors.Is(e, ErrNotAllowed) || errors.Is(e, ErrUnauthorized) {
		t.Errorf("409 classification wrong: %v", e)
	}
	const want = "drac: reset On: HTTP 409 Conflict: Server is already powered ON. (IDRAC.2.1.PSU501)"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

func TestDecodeWebLoginVectors(t *testing.T) {
	drac5 := readVector(t, "drac5-login-ok.response.xml")
	tests := []struct {
		name    string
		body    []byte
		st2     string
		wantErr error
	}{
		{"drac5 ok", drac5, "", nil},
		{"drac5 refused", []byte(strings.Replace(string(drac5), "0x3000", "0x140004", 1)), "", ErrUnauthorized},
		{"idrac8 ok", readVector(t, "idrac8-data-login-ok.response.xml"), "a47f9a0ea441fdd5bf59c63f902c03d2", nil},
		{"idrac8 refused", []byte(`<root><status>ok</status><authResult>1</authResult></root>`), "", ErrUnauthorized},
		{"html", []byte(`<html><body>login</body></html>`), "", ErrProtocol},
		{"truncated", drac5[:len(drac5)/2], "", ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := decodeWebLogin(tt.body)
			if tt.wantErr == nil && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if l.st2 != tt.st2 {
				t.Errorf("st2 = %q, want %q", l.st2, tt.st2)
			}
		})
	}
}

func TestDecodeLegacyAnswers(t *testing.T) {
	sid, err := decodeRACADMLogin([]byte(`<?xml version="1.0"?><LOGIN><RESP><RC>0x0</RC><SID>1234</SID><STATE>0x00000000</STATE><STATENAME>OK</STATENAME></RESP></LOGIN>`))
	if err != nil || sid != "1234" {
		t.Errorf("racadm login: %q, %v", sid, err)
	}
	if _, err := decodeRACADMLogin([]byte(`<LOGIN><RESP><RC>0x0</RC><SID>0</SID></RESP></LOGIN>`)); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("SID 0: %v", err)
	}
	code, out, err := decodeExec([]byte(`<EXEC><RESP><RC>0x0</RC><CMDRC>0x0</CMDRC><CMDOUTPUT>Server power status: ON
</CMDOUTPUT></RESP></EXEC>`))
	if err != nil || code != 0 || out != "Server power status: ON" {
		t.Errorf("exec: %d %q %v", code, out, err)
	}
	if st, ok := decodePowerStatus(out); !ok || st != pxelator.PowerOn {
		t.Errorf("power status %q: %s %v", out, st, ok)
	}
	if _, _, err := decodeExec([]byte(`<EXEC><RESP><RC>0x140004</RC></RESP></EXEC>`)); !errors.Is(err, errSession) {
		t.Errorf("exec RC: %v", err)
	}
	// Unknown elements and namespaces are ignored; properties are read by name.
	s, err := decodeVKVM([]byte(`<x:drac xmlns:x="urn:dell"><extra><a>1</a></extra><object>
<property name="vKvmSessionId" type="string"><value> 1a2b </value></property>
<property name="KMPortNumber" type="text"><value>5900</value></property>
<property name="VideoPortNumber" type="text"><value>5901</value></property>
<property name="EncryptionEnabled" type="boolean"><value>1</value></property></object></x:drac>`))
	if err != nil || s.ID != "1a2b" || s.KeyboardMousePort != 5900 || s.VideoPort != 5901 || !s.Encrypted {
		t.Errorf("vkvm: %+v %v", s, err)
	}
	if _, err := decodeVKVM([]byte(`<drac><property name="vKvmSessionId"><value>a</value></property>
<property name="KMPortNumber"><value>99999</value></property></drac>`)); !errors.Is(err, ErrProtocol) {
		t.Errorf("bad port: %v", err)
	}
}
