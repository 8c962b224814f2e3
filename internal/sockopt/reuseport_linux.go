package sockopt

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// CanSharePort reports whether this system lets sockets share a port
// (SO_REUSEPORT).
const CanSharePort = true

// SharePort is a net.ListenConfig Control function that lets the sockets
// of one user bind the same address (SO_REUSEPORT): the kernel spreads
// the datagrams of different clients over them.
func SharePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}

// SharesPort reports whether conn shares its port (see SharePort).
func SharesPort(conn syscall.Conn) bool {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	on := 0
	rc.Control(func(fd uintptr) { on, err = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT) })
	return err == nil && on != 0
}
