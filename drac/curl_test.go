package drac_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxelator/pxelator"
)

// TestEmulatorWithCurl drives the emulator with curl, a client nobody
// here wrote, the way Dell documents Redfish and remote RACADM with it:
// session login, reading the system, a reset, Basic authentication, and
// a RACADM command. It checks that the emulator answers what the clients
// of this package expect from a real card.
func TestEmulatorWithCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (Debian package curl)")
	}
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		args = append([]string{"-sS", "-k", "--max-time", "20"}, args...)
		out, err := exec.CommandContext(ctx, curl, args...).Output()
		if err != nil {
			t.Fatalf("curl %s: %v", strings.Join(args, " "), err)
		}
		return string(out)
	}

	// Session login: the token comes back in a header.
	hdr := filepath.Join(dir, "headers")
	run("-D", hdr, "-o", os.DevNull, "-H", "Content-Type: application/json",
		"-d", `{"UserName":"root","Password":"calvin"}`, srv.URL+"/redfish/v1/SessionService/Sessions")
	h, err := os.ReadFile(hdr)
	if err != nil {
		t.Fatal(err)
	}
	var token, location string
	for _, l := range strings.Split(string(h), "\r\n") {
		k, v, _ := strings.Cut(l, ": ")
		switch strings.ToLower(k) {
		case "x-auth-token":
			token = v
		case "location":
			location = v
		}
	}
	if token == "" || location == "" {
		t.Fatalf("no token or location in\n%s", h)
	}

	var sys struct{ Id, PowerState string }
	if err := json.Unmarshal([]byte(run("-H", "X-Auth-Token: "+token, srv.URL+"/redfish/v1/Systems/System.Embedded.1")), &sys); err != nil {
		t.Fatal(err)
	}
	if sys.Id != "System.Embedded.1" || sys.PowerState != "On" {
		t.Fatalf("system %+v", sys)
	}
	code := run("-o", os.DevNull, "-w", "%{http_code}", "-H", "X-Auth-Token: "+token, "-H", "Content-Type: application/json",
		"-d", `{"ResetType":"ForceOff"}`, srv.URL+"/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset")
	if code != "204" || bmc.Power() != pxelator.PowerOff {
		t.Fatalf("ForceOff: HTTP %s, power %s", code, bmc.Power())
	}
	// Again, with Basic authentication: 409 and the iDRAC message.
	out := run("-w", "\n%{http_code}", "-u", "root:calvin", "-H", "Content-Type: application/json",
		"-d", `{"ResetType":"ForceOff"}`, srv.URL+"/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset")
	if !strings.HasSuffix(out, "\n409") || !strings.Contains(out, "Server is already powered OFF.") {
		t.Fatalf("ForceOff again: %s", out)
	}
	if code := run("-o", os.DevNull, "-w", "%{http_code}", "-X", "DELETE", "-H", "X-Auth-Token: "+token, srv.URL+location); code != "200" {
		t.Fatalf("logout: HTTP %s", code)
	}
	if code := run("-o", os.DevNull, "-w", "%{http_code}", "-H", "X-Auth-Token: "+token, srv.URL+"/redfish/v1/Systems"); code != "401" {
		t.Fatalf("after logout: HTTP %s, want 401", code)
	}

	// Remote RACADM, the way public scripts do it with curl.
	login := run("-d", "<?xml version='1.0'?><LOGIN><REQ><USERNAME>root</USERNAME><PASSWORD>calvin</PASSWORD></REQ></LOGIN>",
		srv.URL+"/cgi-bin/login")
	_, rest, _ := strings.Cut(login, "<SID>")
	sid, _, _ := strings.Cut(rest, "</SID>")
	if sid == "" || sid == "0" {
		t.Fatalf("racadm login: %s", login)
	}
	out = run("--cookie", "sid="+sid, "-d",
		"<?xml version='1.0'?><EXEC><REQ><CMDINPUT>racadm serveraction powerup</CMDINPUT><MAXOUTPUTLEN>0x0fff</MAXOUTPUTLEN></REQ></EXEC>",
		srv.URL+"/cgi-bin/exec")
	if !strings.Contains(out, "<CMDRC>0x0</CMDRC>") || bmc.Power() != pxelator.PowerOn {
		t.Fatalf("racadm powerup: %s (power %s)", out, bmc.Power())
	}
}
