package tftpd

import (
	"net"
	"syscall"
)

// setReadBuffer sets the socket's receive buffer to n bytes, beyond the
// system's rmem_max when the process may (SO_RCVBUFFORCE needs
// CAP_NET_ADMIN).
func setReadBuffer(conn *net.UDPConn, n int) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n)
	}); err != nil {
		return err
	}
	if serr == nil {
		return nil
	}
	return conn.SetReadBuffer(n)
}
