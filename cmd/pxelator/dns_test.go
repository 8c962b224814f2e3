package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
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
	st := &stack{serverIP: netip.MustParseAddr("10.0.0.1"), store: store, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	stop, addr, err := startDNS(ctx, st, &dnsOptions{addr: "127.0.0.1:0", domain: "pxe", profiles: "install,local"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := stop(ctx); err != nil {
			t.Error(err)
		}
	}()

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
	st := &stack{serverIP: netip.MustParseAddr("10.0.0.1"), store: memstore.New(), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range []*dnsOptions{
		{addr: "127.0.0.1:0", domain: "pxe", networks: "10.0.0.0/33"},
		{addr: "127.0.0.1:0", domain: "pxe", clients: "nonsense"},
		{addr: "127.0.0.1:0", domain: ""},
		{addr: "256.0.0.1:0", domain: "pxe"},
	} {
		if stop, _, err := startDNS(context.Background(), st, o); err == nil {
			stop(context.Background())
			t.Errorf("startDNS(%+v) did not fail", o)
		}
	}
}
