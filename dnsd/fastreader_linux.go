package dnsd

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// newBatcher returns the batch reader and writer of pc: recvmmsg and
// sendmmsg for a UDP socket.
func newBatcher(pc net.PacketConn) packetBatcher {
	uc, ok := pc.(*net.UDPConn)
	if !ok {
		return onePacket{pc}
	}
	if a, ok := uc.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil {
		return ipv4.NewPacketConn(uc)
	}
	return ipv6.NewPacketConn(uc) // an IPv6 or dual-stack socket
}
