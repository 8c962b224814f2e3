package drac

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func addVectors(f *testing.F, ext string) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*"+ext))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzRedfishJSON feeds the Redfish JSON decoders: none may panic, and
// a failure must be an ErrProtocol.
func FuzzRedfishJSON(f *testing.F) {
	addVectors(f, ".json")
	f.Add([]byte(`{"Members":[{"@odata.id":"/redfish/v1/Systems/1"}]}`))
	f.Add([]byte(`{"error":{"@Message.ExtendedInfo":[{"Message":"\u0000\n"}]}}`))
	f.Add([]byte(`{"Id":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if sys, err := decodeSystem(b); err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("decodeSystem: %v is not ErrProtocol", err)
			}
		} else {
			_ = sys.Power()
		}
		if _, err := decodeMembers(b); err != nil && !errors.Is(err, ErrProtocol) {
			t.Fatalf("decodeMembers: %v is not ErrProtocol", err)
		}
		e := decodeError("fuzz", 409, b)
		for _, r := range e.Error() {
			if r < ' ' {
				t.Fatalf("control character in %q", e.Error())
			}
		}
	})
}

// FuzzLegacyXML feeds the legacy DRAC XML decoders.
func FuzzLegacyXML(f *testing.F) {
	addVectors(f, ".xml")
	f.Add([]byte(`<LOGIN><RESP><RC>0x0</RC><SID>1</SID></RESP></LOGIN>`))
	f.Add([]byte(`<EXEC><RESP><RC>0x0</RC><CMDRC>0x1</CMDRC><CMDOUTPUT>ERROR</CMDOUTPUT></RESP></EXEC>`))
	f.Add([]byte(`<drac><property name="vKvmSessionId"><value>a</value></property><property name="KMPortNumber"><value>1</value></property><property name="VideoPortNumber"><value>2</value></property></drac>`))
	f.Add([]byte(`<a><b><c></a>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeWebLogin(b)
		_, _ = decodeRACADMLogin(b)
		if _, out, err := decodeExec(b); err == nil {
			_, _ = decodePowerStatus(out)
		}
		if s, err := decodeVKVM(b); err == nil {
			if s.ID == "" || s.KeyboardMousePort < 1 || s.VideoPort > 65535 {
				t.Fatalf("accepted %+v", s)
			}
		}
	})
}
