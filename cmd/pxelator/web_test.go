package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/iana"
	"github.com/miekg/dns"

	"github.com/pxelator/pxelator/dhcpd/dhcptest"
)

// TestWeb runs the server and checks the web overview beside /boot/ on
// its HTTP port: the login token made and printed at the first start,
// a machine that came by DHCP listed, changes refused without the token
// and written to the conf tree with it, the monitor's up and the
// scheduler's plan shown, and /metrics counting what the servers did.
func TestWeb(t *testing.T) {
	listening, out := startServer(t, append(append([]string{"-server-ip", "127.0.0.1", "-dhcp-relays", "127.0.0.1"}, loopbackFlags...), "-ping", "1s")...)
	base := "http://" + listening["http"]
	m := regexp.MustCompile(`web login token, shown this once and kept in (\S+) \(mode 0600\): (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no token line in the start-up lines:\n%s", out.String())
	}
	file, tok := m[1], m[2]
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %s: %v %v", file, fi.Mode(), err)
	}
	if b, _ := os.ReadFile(file); strings.TrimSpace(string(b)) != tok {
		t.Errorf("token file holds %q, printed %q", b, tok)
	}
	if !strings.Contains(out.String(), "web overview, API and /metrics at http://127.0.0.1:") {
		t.Errorf("no web line in the start-up lines:\n%s", out.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x0d, 0x01}
	c, err := dhcptest.NewClient(listening["dhcp"], mac, dhcptest.PXEFirmware(iana.INTEL_X86PC)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, ack, err := c.DORA(ctx)
	if err != nil {
		t.Fatalf("DHCP: %v", err)
	}
	ip := ack.YourIPAddr.String()
	if _, err := dns.Exchange(new(dns.Msg).SetQuestion("nobody.pxe.", dns.TypeA), listening["dns"]); err != nil {
		t.Fatalf("DNS: %v", err)
	}

	get := func(path string, status int) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			t.Fatalf("GET %s: %s, want %d:\n%.500s", path, resp.Status, status, b)
		}
		return string(b)
	}
	if page := get("/", 200); !strings.Contains(page, mac.String()) || !strings.Contains(page, ip) {
		t.Errorf("the overview does not list %v at %s:\n%.3000s", mac, ip, page)
	}
	if body := get("/boot/no-such-file", 404); strings.Contains(body, "<html") {
		t.Errorf("/boot/ answered by the web page: %q", body)
	}

	patch := func(hdr string) int {
		t.Helper()
		req, _ := http.NewRequest("PATCH", base+"/api/machines/"+mac.String(), strings.NewReader(`{"hostname":"lab-01"}`))
		req.Header.Set("Content-Type", "application/json")
		if hdr != "" {
			req.Header.Set("Authorization", hdr)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	host := filepath.Join(filepath.Dir(filepath.Dir(file)), "conf", "127.0.0.1", ip, "hostname")
	if got := patch(""); got != http.StatusUnauthorized {
		t.Errorf("change without the token: %d", got)
	}
	if got := patch("Bearer wrong"); got != http.StatusForbidden {
		t.Errorf("change with a wrong token: %d", got)
	}
	if _, err := os.Stat(host); err == nil {
		t.Errorf("%s written by a refused change", host)
	}
	if got := patch("Bearer " + tok); got != http.StatusOK {
		t.Fatalf("change with the token: %d", got)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(host); err == nil && strings.TrimSpace(string(b)) == "lab-01" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not hold the new host name", host)
		}
	}

	// The monitor pings the machine's loopback address, the scheduler
	// reads the kiosk.on written by hand: the overview says both.
	kiosk := filepath.Join(filepath.Dir(host), "kiosk.on")
	if err := os.WriteFile(kiosk, []byte("07:30\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		page := get("/", 200)
		if strings.Contains(page, `<span class="up"`) && strings.Contains(page, `title="on 07:30 daily`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the overview shows neither up nor the schedule:\n%s", page)
		}
	}

	metrics := get("/metrics", 200)
	for _, want := range []string{
		"pxelator_dhcp_received_total 2", "pxelator_dhcp_replies_total 2", "pxelator_dhcp_new_machines_total 1",
		`pxelator_dhcp_not_answered_total{reason="pool_full"} 0`, `pxelator_tftp_transfers_total{outcome="ok"} 0`,
		"pxelator_tftp_bytes_total 0", `pxelator_dns_queries_total{rcode="NXDOMAIN"} 1`, "pxelator_syslog_messages_total 0",
		`pxelator_syslog_dropped_total{where="queue"} 0`, "pxelator_audit_events_total", `pxelator_audit_dropped_total{where="queue"} 0`,
		"pxelator_audit_documents_written_total", "pxelator_machines 1", "pxelator_machines_up 1", `pxelator_web_power_actions_total{action="on",result="ok"} 0`,
		"go_goroutines", "process_open_fds",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestWebToken: the first start writes a random token with mode 0600 and
// prints it; later starts read it and print nothing; a token file others
// can read is refused.
func TestWebToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "web.token")
	var out strings.Builder
	tok, err := webToken(path, &out)
	if err != nil || len(tok) < 40 || !strings.Contains(out.String(), tok) {
		t.Fatalf("first start: %q, %v; printed %q", tok, err, out.String())
	}
	out.Reset()
	again, err := webToken(path, &out)
	if err != nil || again != tok || out.Len() != 0 {
		t.Errorf("second start: %q, %v; printed %q", again, err, out.String())
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := webToken(path, &out); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable token file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := webToken(empty, &out); err == nil {
		t.Error("empty token file accepted")
	}
}

func TestWebNetworksFlag(t *testing.T) {
	if _, err := parseFlags([]string{"-web-networks", "10.0.0.0/8,nonsense"}, io.Discard); err == nil || !strings.Contains(err.Error(), "-web-networks") {
		t.Errorf("bad -web-networks: %v", err)
	}
	set, err := parseFlags([]string{"-state", "/var/lib/pxelator", "-web-networks", "10.0.0.0/8, 192.168.1.0/24"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if set.web.tokenFile != "/var/lib/pxelator/web.token" || len(set.web.readNets) != 2 {
		t.Errorf("settings %+v", set.web)
	}
}
