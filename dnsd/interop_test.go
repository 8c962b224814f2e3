package dnsd_test

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lookTool returns the path of a client program or skips the test.
func lookTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s): %v", name, pkg, err)
	}
	return p
}

// run runs a DNS client against the fixture's server and returns its
// output.
func (f *fixture) run(t *testing.T, tool string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(f.srv.Addr)
	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	opts := []string{"@" + host, "-p", port, "+time=10", "+tries=1"}
	if strings.HasSuffix(tool, "kdig") {
		opts = []string{"@" + host, "-p", port, "+timeout=10", "+retry=0"}
	}
	args = append(opts, args...)
	out, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestInteropDigKdig(t *testing.T) {
	dig := lookTool(t, "dig", "bind9-dnsutils")
	kdig := lookTool(t, "kdig", "knot-dnsutils")
	// dig asks over UDP, gets the TC bit for a bare command name, and asks
	// again over TCP.
	f := newFixture(t, fromLoopback)
	wake := &counter{}
	f.h.HandleCommand("wake", wake.run)
	f.h.HandleCommand("boot.install", wake.run)

	tests := []struct {
		tool string
		args []string
		want string // a line of the output, or part of one when it has spaces
	}{
		{dig, []string{"kiosk-01.pxe", "A", "+short"}, "10.0.0.11"},
		{kdig, []string{"kiosk-01.pxe", "A", "+short"}, "10.0.0.11"},
		{dig, []string{"-x", "10.0.0.12", "+short"}, "web.pxe."},
		{kdig, []string{"-x", "10.0.0.11", "+short"}, "kiosk-01.pxe."},
		{dig, []string{"+tcp", "web.pxe", "A", "+short"}, "10.0.0.12"},
		{kdig, []string{"+tcp", "web.pxe", "A", "+short"}, "10.0.0.12"},
		{dig, []string{"pxe", "NS", "+short"}, "ns.pxe."},
		{dig, []string{"missing.pxe", "A"}, "status: NXDOMAIN"},
		{kdig, []string{"missing.pxe", "A"}, "status: NXDOMAIN"},
		{dig, []string{"example.com", "A"}, "status: REFUSED"},
		{kdig, []string{"+tcp", "example.com", "A"}, "status: REFUSED"},
		{dig, []string{"kiosk-01.pxe", "AAAA"}, "status: NOERROR"},
		{dig, []string{"+bufsize=4096", "kiosk-01.pxe", "A"}, "; EDNS: version: 0, flags:; udp: 1232"},
		{dig, []string{"wake.kiosk-01.do.pxe", "A", "+short"}, "10.0.0.11"},
		{kdig, []string{"+tcp", "boot.install.web.do.pxe", "A", "+short"}, "10.0.0.12"},
	}
	for _, tt := range tests {
		out := f.run(t, tt.tool, tt.args...)
		found := false
		for line := range strings.Lines(out) {
			line = strings.Join(strings.Fields(line), " ")
			if line == tt.want || strings.Contains(tt.want, " ") && strings.Contains(line, tt.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %s: no %q in\n%s", tt.tool, strings.Join(tt.args, " "), tt.want, out)
		}
	}
	if n := wake.n.Load(); n != 2 {
		t.Errorf("commands ran %d times for two command names, want 2", n)
	}

	// The SOA serial, as dig shows it, is the Handler's.
	out := strings.Fields(f.run(t, dig, "pxe", "SOA", "+short"))
	if len(out) != 7 || out[0] != "ns.pxe." || out[1] != "hostmaster.pxe." || out[2] != strconv.FormatUint(uint64(f.h.Serial()), 10) {
		t.Errorf("dig SOA +short: %q, serial want %d", out, f.h.Serial())
	}
	if out := f.run(t, kdig, "pxe", "SOA", "+short"); !strings.Contains(out, "hostmaster.pxe.") {
		t.Errorf("kdig SOA: %s", out)
	}
	if evs := f.rec.Find("dnsd", "query"); len(evs) < len(tests)+2 {
		t.Errorf("%d query events for %d queries", len(evs), len(tests)+2)
	}
}
