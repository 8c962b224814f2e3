package dhcpd_test

import (
	"net"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/pxelator/pxelator/dhcpd"
)

func TestDestination(t *testing.T) {
	bcast := "255.255.255.255:68"
	tests := []struct {
		name   string
		peer   string
		mods   []dhcpv4.Modifier
		reply  dhcpv4.MessageType
		expect string
	}{
		{"new client", "0.0.0.0:68", nil, dhcpv4.MessageTypeOffer, bcast},
		{"broadcast flag", "0.0.0.0:68", []dhcpv4.Modifier{dhcpv4.WithBroadcast(true)}, dhcpv4.MessageTypeOffer, bcast},
		{"renewing client", "10.0.0.5:68", []dhcpv4.Modifier{dhcpv4.WithClientIP(net.IPv4(10, 0, 0, 5))}, dhcpv4.MessageTypeAck, "10.0.0.5:68"},
		{"ciaddr from another address", "10.0.0.9:68", []dhcpv4.Modifier{dhcpv4.WithClientIP(net.IPv4(10, 0, 0, 5))}, dhcpv4.MessageTypeAck, "10.0.0.5:68"},
		{"NAK to a client with ciaddr", "10.0.0.5:68", []dhcpv4.Modifier{dhcpv4.WithClientIP(net.IPv4(10, 0, 0, 5))}, dhcpv4.MessageTypeNak, bcast},
		{"relay", "10.9.0.1:67", []dhcpv4.Modifier{dhcpv4.WithRelay(net.IPv4(10, 9, 0, 1))}, dhcpv4.MessageTypeOffer, "10.9.0.1:67"},
		{"relay on another port", "10.9.0.1:1067", []dhcpv4.Modifier{dhcpv4.WithRelay(net.IPv4(10, 9, 0, 1))}, dhcpv4.MessageTypeOffer, "10.9.0.1:1067"},
		{"relay NAK goes to the relay", "10.9.0.1:67", []dhcpv4.Modifier{dhcpv4.WithRelay(net.IPv4(10, 9, 0, 1))}, dhcpv4.MessageTypeNak, "10.9.0.1:67"},
		{"giaddr not the sender", "10.9.0.2:67", []dhcpv4.Modifier{dhcpv4.WithRelay(net.IPv4(10, 9, 0, 1))}, dhcpv4.MessageTypeOffer, "10.9.0.1:67"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := discover(t, tt.mods...)
			req, err := dhcpd.ParseRequest(p.ToBytes())
			if err != nil {
				t.Fatal(err)
			}
			req.Peer = netip.MustParseAddrPort(tt.peer)
			reply, _ := dhcpv4.NewReplyFromRequest(p, dhcpv4.WithMessageType(tt.reply))
			if got := dhcpd.Destination(req, reply).String(); got != tt.expect {
				t.Errorf("Destination = %s, want %s", got, tt.expect)
			}
		})
	}
}
