package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/memstore"
)

func TestDNSService(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := memstore.New()
	mac, _ := net.ParseMAC("52:54:00:00:00:0b")
	if err := store.Put(ctx, pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.11"), Hostname: "kiosk-01"}); err != nil {
		t.Fatal(err)
	}
	set, err := parseFlags([]string{"-server-ip", "10.0.0.1", "-dhcp", "off", "-dns", "127.0.0.1:0", "-dns-profiles", "install,local"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := newDNS(set, deps{store: store, log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	addr := serveForTest(t, svcs)["dns"]

	ask := func(net, name string, qtype uint16) *dns.Msg {
		t.Helper()
		c := &dns.Client{Net: net, Timeout: 10 * time.Second}
		r, _, err := c.ExchangeContext(ctx, new(dns.Msg).SetQuestion(name, qtype), addr)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		net, name string
		qtype     uint16
		rcode     int
		answers   int
	}{
		{"udp", "kiosk-01.pxe.", dns.TypeA, dns.RcodeSuccess, 1},
		{"tcp", "11.0.0.10.in-addr.arpa.", dns.TypePTR, dns.RcodeSuccess, 1}, // the server's /24
		{"udp", "ns.pxe.", dns.TypeA, dns.RcodeSuccess, 1},
		{"udp", "example.com.", dns.TypeA, dns.RcodeRefused, 0},
		{"udp", "frobnicate.kiosk-01.do.pxe.", dns.TypeA, dns.RcodeNameError, 0}, // not registered
		{"udp", "boot.install.kiosk-01.do.pxe.", dns.TypeA, dns.RcodeSuccess, 1},
		{"udp", "netboot.off.kiosk-01.do.pxe.", dns.TypeA, dns.RcodeSuccess, 1},
	}
	for _, tt := range tests {
		if r := ask(tt.net, tt.name, tt.qtype); r.Rcode != tt.rcode || len(r.Answer) != tt.answers {
			t.Errorf("%s %s: %s with %d answers, want %s with %d", tt.name, dns.TypeToString[tt.qtype],
				dns.RcodeToString[r.Rcode], len(r.Answer), dns.RcodeToString[tt.rcode], tt.answers)
		}
	}
	m, err := store.ByHostname(ctx, "kiosk-01")
	if err != nil {
		t.Fatal(err)
	}
	if m.Profile != "install" || m.Get(pxelator.AttrNetboot) != "false" {
		t.Errorf("machine after boot.install and netboot.off: %v", m)
	}
}

func TestDNSServiceBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-dns-networks", "10.0.0.0/33"},
		{"-dns-clients", "nonsense"},
		{"-domain", ""},
		{"-dns-forward", "10.0.0.1"},
		{"-dns", "256.0.0.1"},
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
