package amttest_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt/amttest"
)

// TestAmttool drives the emulator's legacy services with amttool (Debian
// package amtterm), a Perl SOAP::Lite client for AMT 2 to 5 that
// authenticates with LWP's Digest implementation.
func TestAmttool(t *testing.T) {
	if _, err := exec.LookPath("amttool"); err != nil {
		t.Skip("amttool not installed (Debian packages amtterm and libsoap-lite-perl)")
	}
	if err := exec.Command("perl", "-MSOAP::Lite", "-e", "1").Run(); err != nil {
		t.Skip("amttool needs SOAP::Lite (Debian package libsoap-lite-perl)")
	}
	srv := amttest.NewServer(amttest.Options{}) // amttool always logs in as admin
	defer srv.Close()
	u, _ := url.Parse(srv.URL)

	amttool := func(stdin string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "amttool", append([]string{u.Host}, args...)...)
		cmd.Env = append(os.Environ(), "AMT_PASSWORD="+srv.Password())
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("amttool %v: %v\n%s", args, err, out)
		}
		return string(out)
	}

	out := amttool("", "info")
	if !strings.Contains(out, "AMT version:  2.6.3") || !strings.Contains(out, "Powerstate:   S0") ||
		!strings.Contains(out, "Hostname:     amttest.example") {
		t.Fatalf("amttool info:\n%s", out)
	}
	out = amttool("y\n", "powerdown")
	if !strings.Contains(out, "result: pt_status: success") || srv.State() != pxelator.PowerOff {
		t.Fatalf("amttool powerdown (emulator %v):\n%s", srv.State(), out)
	}
	if out := amttool("", "info"); !strings.Contains(out, "Powerstate:   S5 (soft-off)") {
		t.Fatalf("amttool info after powerdown:\n%s", out)
	}
	out = amttool("y\n", "powercycle")
	if !strings.Contains(out, "result: pt_status: not permitted") || srv.State() != pxelator.PowerOff {
		t.Fatalf("amttool powercycle when off (emulator %v):\n%s", srv.State(), out)
	}
	out = amttool("y\n", "powerup")
	if !strings.Contains(out, "result: pt_status: success") || srv.State() != pxelator.PowerOn {
		t.Fatalf("amttool powerup (emulator %v):\n%s", srv.State(), out)
	}
	if srv.Unauthorized() == 0 {
		t.Errorf("amttool was never challenged")
	}
}

// TestCurlDigest posts the recorded WS-Man requests with curl --digest,
// for each challenge form the emulator can send.
func TestCurlDigest(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	for _, qop := range []string{"auth", "auth-int, auth", "auth,auth-int"} {
		t.Run(qop, func(t *testing.T) {
			srv := amttest.NewServer(amttest.Options{QOP: qop})
			defer srv.Close()
			curl := func(file string) string {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, "curl", "-sS", "--fail-with-body", "--digest", "-K", "-",
					"-H", "Content-Type: application/soap+xml;charset=UTF-8", "--data-binary", "@testdata/"+file, srv.URL+"/wsman")
				// The password goes through stdin, not the command line.
				cmd.Stdin = strings.NewReader(`user = "` + srv.Username() + ":" + srv.Password() + `"` + "\n")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("curl %s: %v\n%s", file, err, out)
				}
				return string(out)
			}
			if out := curl("get-associatedpower.request.xml"); !strings.Contains(out, "<g:PowerState>2</g:PowerState>") {
				t.Fatalf("Get: %s", out)
			}
			if out := curl("requestpowerstatechange-off.request.xml"); !strings.Contains(out, "<g:ReturnValue>0</g:ReturnValue>") || srv.State() != pxelator.PowerOff {
				t.Fatalf("off: %s (emulator %v)", out, srv.State())
			}
		})
	}
}
