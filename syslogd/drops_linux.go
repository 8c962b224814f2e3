package syslogd

import (
	"encoding/binary"
	"net"
	"syscall"
)

// oobSize is the control-message room for the drop count of a datagram.
const oobSize = 32

// countDrops asks the kernel to tell, with every datagram, how many
// datagrams the socket has dropped so far because its buffer was full
// (SO_RXQ_OVFL). It reports whether it could.
func countDrops(uc *net.UDPConn) bool {
	rc, err := uc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	}); err != nil || serr != nil {
		return false
	}
	return true
}

// dropCount returns the drop count in the control messages oob, and
// whether there is one.
func dropCount(oob []byte) (uint32, bool) {
	cmsgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, c := range cmsgs {
		if c.Header.Level == syscall.SOL_SOCKET && c.Header.Type == syscall.SO_RXQ_OVFL && len(c.Data) >= 4 {
			return binary.NativeEndian.Uint32(c.Data), true
		}
	}
	return 0, false
}
