package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/memstore"
)

// dnsService serves the DNS service of args over a store with kiosk-01,
// and returns the store and a function that asks the service.
func dnsService(t *testing.T, args ...string) (*memstore.Store, func(net, name string) *dns.Msg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	store := memstore.New()
	mac, _ := net.ParseMAC("52:54:00:00:00:0b")
	if err := store.Put(ctx, pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.11"), Hostname: "kiosk-01"}); err != nil {
		t.Fatal(err)
	}
	set, err := parseFlags(append([]string{"-server-ip", "10.0.0.1", "-dhcp", "off", "-dns", "127.0.0.1:0"}, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := newDNS(set, deps{store: store, log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveForTest(t, svcs)["dns"]
	return store, func(net, name string) *dns.Msg {
		t.Helper()
		c := &dns.Client{Net: net, Timeout: 10 * time.Second}
		r, _, err := c.ExchangeContext(ctx, new(dns.Msg).SetQuestion(dns.Fqdn(name), dns.TypeA), addr)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// TestDNSService: names are answered, and with the default flags no
// command runs, whoever asks.
func TestDNSService(t *testing.T) {
	store, ask := dnsService(t, "-dns-profiles", "install,local")
	tests := []struct {
		net, name string
		rcode     int
		answers   int
	}{
		{"udp", "kiosk-01.pxe.", dns.RcodeSuccess, 1},
		{"udp", "ns.pxe.", dns.RcodeSuccess, 1},
		{"udp", "example.com.", dns.RcodeRefused, 0},
		{"udp", "boot.install.kiosk-01.do.pxe.", dns.RcodeRefused, 0},
		{"tcp", "netboot.off.kiosk-01.do.pxe.", dns.RcodeRefused, 0},
		{"tcp", "wake.kiosk-01.do.pxe.", dns.RcodeRefused, 0},
	}
	for _, tt := range tests {
		if r := ask(tt.net, tt.name); r.Rcode != tt.rcode || len(r.Answer) != tt.answers {
			t.Errorf("%s over %s: %s with %d answers, want %s with %d", tt.name, tt.net,
				dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[tt.rcode], tt.answers)
		}
	}
	m, err := store.ByHostname(context.Background(), "kiosk-01")
	if err != nil {
		t.Fatal(err)
	}
	if m.Profile != "" || m.Get(pxelator.AttrNetboot) != "" {
		t.Errorf("machine after refused commands: %v", m)
	}
}

// TestDNSCommandTokens: with -dns-commands token, the names dns-token
// prints run the destructive commands, once; bare names do not.
func TestDNSCommandTokens(t *testing.T) {
	state := t.TempDir()
	store, ask := dnsService(t, "-state", state, "-dns-commands", "token", "-dns-profiles", "install")
	token := func(cmd string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), []string{"dns-token", "-state", state, cmd, "kiosk-01"}, &out, nil); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out.String())
	}
	if fi, err := os.Stat(filepath.Join(state, "dns.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", fi, err)
	}
	if r := ask("udp", "boot.install.kiosk-01.do.pxe"); r.Rcode != dns.RcodeRefused {
		t.Errorf("bare boot.install: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	name := token("boot.install")
	if !strings.HasPrefix(name, "boot.install.kiosk-01.") || !strings.HasSuffix(name, ".do.pxe") {
		t.Fatalf("dns-token printed %q", name)
	}
	for range 2 {
		if r := ask("udp", name); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s: %s %v", name, dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
	if r := ask("udp", token("netboot.off")); len(r.Answer) != 1 {
		t.Errorf("netboot.off with a token: %s", dns.RcodeToString[r.Rcode])
	}
	m, _ := store.ByHostname(context.Background(), "kiosk-01")
	if m.Profile != "install" || m.Get(pxelator.AttrNetboot) != "false" {
		t.Errorf("machine after boot.install and netboot.off: %v", m)
	}
	// The profile was set once: undone by hand, a replay does not set it again.
	m.Profile = "local"
	store.Put(context.Background(), m)
	ask("tcp", name)
	if m, _ := store.ByHostname(context.Background(), "kiosk-01"); m.Profile != "local" {
		t.Errorf("a replayed token ran again: profile %q", m.Profile)
	}
}

// TestDNSCommandNetworks: -dns-commands networks lets the listed networks
// wake machines, over TCP, and nothing else.
func TestDNSCommandNetworks(t *testing.T) {
	_, ask := dnsService(t, "-dns-commands", "networks", "-dns-command-networks", "127.0.0.0/8")
	if r := ask("udp", "netboot.off.kiosk-01.do.pxe"); r.Rcode != dns.RcodeRefused {
		t.Errorf("netboot.off from a listed network: %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	if r := ask("udp", "wake.kiosk-01.do.pxe"); !r.Truncated || len(r.Answer) != 0 {
		t.Errorf("wake over UDP: TC %v %v, want the TC bit", r.Truncated, r.Answer)
	}
}

func TestDNSServiceBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-dns-networks", "10.0.0.0/33"},
		{"-dns-clients", "nonsense"},
		{"-domain", ""},
		{"-dns-forward", "10.0.0.1"},
		{"-dns", "256.0.0.1"},
		{"-dns-commands", "everyone"},
		{"-dns-commands", ""},
		{"-dns-commands", "networks"},
		{"-dns-command-networks", "10.0.0.0/24"},
	} {
		if _, err := parseFlags(append([]string{"-server-ip", "10.0.0.1", "-dhcp", "off"}, args...), io.Discard); err == nil {
			t.Errorf("parseFlags(%q) did not fail", args)
		}
	}
}

// serveForTest serves svcs until the test ends and returns where they
// listen, by name.
func serveForTest(t *testing.T, svcs []*service) map[string]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan []string, 1)
	done := make(chan error, 1)
	go func() { done <- runGroup(ctx, svcs, func(l []string) { ready <- l }, 10*time.Second) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case l := <-ready:
		m := map[string]string{}
		for _, f := range l {
			name, addr, _ := strings.Cut(f, "=")
			m[name] = addr
		}
		return m
	case err := <-done:
		t.Fatalf("services did not start: %v", err)
	}
	return nil
}
