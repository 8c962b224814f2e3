//go:build !linux

package dnsd

import "net"

// newBatcher returns the batch reader and writer of pc: one datagram at a
// time here.
func newBatcher(pc net.PacketConn) packetBatcher { return onePacket{pc} }
