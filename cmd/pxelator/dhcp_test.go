package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"

	"github.com/pxelator/pxelator/dhcpd"
)

func TestDHCPRangeFlags(t *testing.T) {
	server := netip.MustParseAddr("10.77.0.1")
	tests := []struct {
		subnet, rng         string
		prefix, first, last string
		bad                 bool
	}{
		{"", "", "10.77.0.0/24", "10.77.0.100", "10.77.0.250", false},
		{"10.77.0.0/16", "10.77.0.100-10.77.250.250", "10.77.0.0/16", "10.77.0.100", "10.77.250.250", false},
		{"10.78.0.0/16", "", "", "", "", true},
		{"", "10.77.0.9-10.77.0.2", "10.77.0.0/24", "", "", true},
		{"", "10.77.0.9", "10.77.0.0/24", "", "", true},
		{"nonsense", "", "", "", "", true},
	}
	for _, tt := range tests {
		p, err := parseSubnet(tt.subnet, server)
		if err == nil {
			var first, last netip.Addr
			first, last, err = parseRange(tt.rng, p)
			if err == nil && (p.String() != tt.prefix || first.String() != tt.first || last.String() != tt.last) {
				t.Errorf("%q %q: %v %v-%v, want %s %s-%s", tt.subnet, tt.rng, p, first, last, tt.prefix, tt.first, tt.last)
			}
		}
		if (err != nil) != tt.bad {
			t.Errorf("%q %q: error %v, want error %v", tt.subnet, tt.rng, err, tt.bad)
		}
	}
}

// TestDHCPSafetyFlags: the limit of new machines is on by default, relays
// are accepted only when listed, and the start-up line says both.
func TestDHCPSafetyFlags(t *testing.T) {
	tests := []struct {
		args   []string
		limit  dhcpd.Limit
		relays string
		line   string // in the start-up line
		bad    bool
	}{
		{nil, dhcpd.Limit{Burst: dhcpd.DefaultBurst, Rate: dhcpd.DefaultRate}, "[]",
			"at most 128 new machines at once, then 32/s, per interface; relayed requests dropped", false},
		{[]string{"-dhcp-new-burst", "0"}, dhcpd.Limit{Burst: -1}, "[]", "no limit of new machines", false},
		{[]string{"-dhcp-relays", "10.0.9.1, 10.1.0.0/16"}, dhcpd.Limit{Burst: dhcpd.DefaultBurst, Rate: dhcpd.DefaultRate},
			"[10.0.9.1/32 10.1.0.0/16]", "relays [10.0.9.1/32 10.1.0.0/16]", false},
		{[]string{"-dhcp-relays", "relay.example"}, dhcpd.Limit{}, "", "", true},
		{[]string{"-dhcp-new-burst", "-1"}, dhcpd.Limit{}, "", "", true},
		{[]string{"-dhcp-offer-hold", "0s"}, dhcpd.Limit{}, "", "", true},
	}
	for _, tt := range tests {
		set, err := parseFlags(append([]string{"-server-ip", "127.0.0.1"}, tt.args...), io.Discard)
		if (err != nil) != tt.bad {
			t.Errorf("%q: error %v, want error %v", tt.args, err, tt.bad)
			continue
		}
		if err != nil {
			continue
		}
		cfg := set.dhcp.cfg
		if cfg.Limit != tt.limit || fmt.Sprint(cfg.Relays) != tt.relays && !(tt.relays == "[]" && cfg.Relays == nil) {
			t.Errorf("%q: limit %+v relays %v, want %+v %s", tt.args, cfg.Limit, cfg.Relays, tt.limit, tt.relays)
		}
		if cfg.OfferHold != dhcpd.DefaultOfferHold || cfg.Quarantine != dhcpd.DefaultQuarantine {
			t.Errorf("%q: offer hold %v, quarantine %v", tt.args, cfg.OfferHold, cfg.Quarantine)
		}
		if line := set.dhcp.describe(set); !strings.Contains(line, tt.line) {
			t.Errorf("%q: start-up line %q lacks %q", tt.args, line, tt.line)
		}
	}
}
