package main

import (
	"net/netip"
	"testing"
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
