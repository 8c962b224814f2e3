package amt

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"10.0.0.5", "http://10.0.0.5:16992"},
		{"10.0.0.5:16993", "https://10.0.0.5:16993"},
		{"10.0.0.5:8080", "http://10.0.0.5:8080"},
		{"amt.example", "http://amt.example:16992"},
		{"https://amt.example", "https://amt.example:16993"},
		{"http://amt.example/wsman", "http://amt.example:16992"},
		{"http://127.0.0.1:4242", "http://127.0.0.1:4242"},
		{"fe80::1", "http://[fe80::1]:16992"},
		{"[fe80::1]:16993", "https://[fe80::1]:16993"},
		{"https://[2001:db8::1]", "https://[2001:db8::1]:16993"},
	}
	for _, tt := range tests {
		u, err := parseEndpoint(tt.in)
		if err != nil || u.String() != tt.want {
			t.Errorf("parseEndpoint(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "http://", "http://admin:pw@x", "http://x/index.html"} {
		if u, err := parseEndpoint(bad); err == nil {
			t.Errorf("parseEndpoint(%q) = %v, want an error", bad, u)
		}
	}
}

// seedResponses adds every answer of testdata to a fuzz corpus.
func seedResponses(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`<Envelope><Body><RequestPowerStateChange_OUTPUT><ReturnValue>4097</ReturnValue></RequestPowerStateChange_OUTPUT></Body></Envelope>`))
	f.Add([]byte(`<E:Envelope xmlns:E="x"><E:Body><PullResponse><Items><CIM_AssociatedPowerManagementService><PowerState>8</PowerState></CIM_AssociatedPowerManagementService></Items><EndOfSequence/></PullResponse></E:Body></E:Envelope>`))
	f.Add([]byte(`<html><title>x</title></html>`))
}

// FuzzDecodeEnvelope feeds arbitrary answers to the decoder and to the
// code that reads values out of it: an error is fine, a panic is not.
func FuzzDecodeEnvelope(f *testing.F) {
	seedResponses(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := decodeEnvelope(data)
		if err != nil {
			return
		}
		b := env.Body
		if b.Fault != nil {
			_ = b.Fault.fault().Error()
		}
		if b.PowerService != nil {
			b.PowerService.info()
		}
		if b.Pull != nil {
			for _, p := range b.Pull.Items.PowerServices {
				p.info()
			}
		}
		if b.Output != nil && b.Output.ReturnValue != nil {
			parseUint(*b.Output.ReturnValue, "ReturnValue")
		}
		if b.SystemPower != nil && b.SystemPower.SystemPowerState != nil {
			if n, err := parseUint(*b.SystemPower.SystemPowerState, "SystemPowerState"); err == nil {
				if legacyState(n) == "" || systemPowerStateName(n) == "" {
					t.Fatalf("SystemPowerState %d has no name", n)
				}
			}
		}
		snippet(data)
	})
}

// FuzzFindChallenge feeds arbitrary WWW-Authenticate headers to the
// challenge parser.
func FuzzFindChallenge(f *testing.F) {
	f.Add(`Digest realm="Digest:A4070000000000000000000000000000", nonce="wlbEK1EtAAAAAAAAWW5aUHFp+mQQ1j63",stale="false",qop="auth"`)
	f.Add(`Digest realm="R", nonce="N",stale="false",qop="auth-int, auth"`)
	f.Add(`Digest realm="R", nonce="N", algorithm=SHA-256, qop=" auth ,auth-int", opaque="o", userhash=true`)
	f.Add(`Digest realm="unterminated`)
	f.Fuzz(func(t *testing.T, header string) {
		chal, err := findChallenge(http.Header{"Www-Authenticate": {header}})
		if err != nil {
			return
		}
		for _, q := range chal.QOP {
			if q == "" || q[0] == ' ' || q[len(q)-1] == ' ' {
				t.Fatalf("qop option %q not trimmed", q)
			}
		}
	})
}
