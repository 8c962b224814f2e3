package main

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/wol"
)

func openAMT(host string, o options) (controller, error) {
	return amt.NewClient(host, amt.Config{
		Username:           o.user,
		Password:           o.password,
		Legacy:             o.legacy,
		InsecureSkipVerify: o.insecure,
		Timeout:            -1, // the -timeout flag bounds the whole command
	})
}

func openDRAC(host string, o options) (controller, error) {
	return drac.NewRedfish(host, drac.Config{Username: o.user, Password: o.password, InsecureSkipVerify: o.insecure})
}

func openWOL(mac string, o options) (controller, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("%w: -wol %q is not a MAC address such as 52:54:00:12:34:56", errUsage, mac)
	}
	if o.iface != "" && o.broadcast != "" {
		return nil, fmt.Errorf("%w: give -iface or -broadcast, not both", errUsage)
	}
	password, err := wol.ParsePassword(o.secureon)
	if err != nil {
		return nil, fmt.Errorf("%w: -secureon: %w", errUsage, err)
	}
	c := &wol.Client{MAC: hw, Interface: o.iface, Port: o.port, Password: password}
	if o.broadcast != "" {
		if strings.Contains(o.broadcast, "/") {
			p, err := netip.ParsePrefix(o.broadcast)
			if err != nil || !p.Addr().Is4() {
				return nil, fmt.Errorf("%w: -broadcast %q is not an IPv4 prefix", errUsage, o.broadcast)
			}
			c.Broadcast = wol.BroadcastAddr(p)
		} else {
			a, err := netip.ParseAddr(o.broadcast)
			if err != nil || !a.Is4() {
				return nil, fmt.Errorf("%w: -broadcast %q is not an IPv4 address", errUsage, o.broadcast)
			}
			c.Broadcast = a
		}
	}
	return c, nil
}
