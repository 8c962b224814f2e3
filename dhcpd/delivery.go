package dhcpd

import (
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// Well-known ports.
const (
	ServerPort = 67   // where servers and relays listen
	ClientPort = 68   // where clients listen
	PXEPort    = 4011 // where proxy DHCP servers answer PXE boot server requests
)

// Destination returns where reply to req goes, following RFC 2131 §4.1:
//
//   - a relayed request (giaddr set) is answered to the relay on port 67,
//     or on the port it came from when it came from the relay itself
//     (RFC 8357 relays that do not use port 67);
//   - else a NAK is broadcast;
//   - else a client with an address (ciaddr) is answered there, on the
//     port it came from when it came from that address;
//   - else the reply is broadcast to port 68 (a client with no address
//     yet cannot take a unicast without ARP, which a UDP socket cannot
//     inject).
func Destination(req *Request, reply *dhcpv4.DHCPv4) netip.AddrPort {
	if req.Relay.IsValid() {
		if req.Peer.Addr().Unmap() == req.Relay && req.Peer.Port() != 0 {
			return netip.AddrPortFrom(req.Relay, req.Peer.Port())
		}
		return netip.AddrPortFrom(req.Relay, ServerPort)
	}
	if reply.MessageType() == dhcpv4.MessageTypeNak && reply.Options.Has(dhcpv4.OptionDHCPMessageType) {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), ClientPort)
	}
	if ci, ok := netip.AddrFromSlice(req.Packet.ClientIPAddr.To4()); ok && !ci.IsUnspecified() {
		if req.Peer.Addr().Unmap() == ci && req.Peer.Port() != 0 {
			return netip.AddrPortFrom(ci, req.Peer.Port())
		}
		return netip.AddrPortFrom(ci, ClientPort)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), ClientPort)
}
