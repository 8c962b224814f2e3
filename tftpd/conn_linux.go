package tftpd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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

// peerConn is a transfer's socket, connected to the client. On Linux it
// is a blocking socket read with SO_RCVTIMEO: the goroutine waits in the
// system call and wakes as soon as an ACK arrives, without a round
// through the runtime's network poller and a timer per packet, which in
// lockstep is most of a block's round trip.
type peerConn struct {
	f           *os.File // owns the descriptor: no use after Close
	rc          syscall.RawConn
	timeout     time.Duration // the receive timeout set on the socket
	interrupted atomic.Bool
}

// dialPeer opens a socket bound to local (any address if invalid) and
// connected to remote.
func dialPeer(local netip.Addr, remote netip.AddrPort) (*peerConn, error) {
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	family, rsa, err := sockaddr(remote)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	f := os.NewFile(uintptr(fd), "tftp "+remote.String())
	c := &peerConn{f: f}
	if c.rc, err = f.SyscallConn(); err != nil {
		f.Close()
		return nil, err
	}
	if local.IsValid() {
		if local.Is4() != remote.Addr().Is4() {
			local = netip.Addr{}
		}
	}
	var lsa unix.Sockaddr = &unix.SockaddrInet4{}
	if family == unix.AF_INET6 {
		lsa = &unix.SockaddrInet6{}
	}
	if local.IsValid() {
		lsa, _, _ = sockaddrOf(netip.AddrPortFrom(local, 0))
	}
	if err := unix.Bind(fd, lsa); err != nil {
		f.Close()
		return nil, os.NewSyscallError("bind", err)
	}
	if err := unix.Connect(fd, rsa); err != nil {
		f.Close()
		return nil, os.NewSyscallError("connect", err)
	}
	return c, nil
}

func sockaddr(ap netip.AddrPort) (int, unix.Sockaddr, error) {
	sa, family, err := sockaddrOf(ap)
	return family, sa, err
}

func sockaddrOf(ap netip.AddrPort) (unix.Sockaddr, int, error) {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
	if z := ap.Addr().Zone(); z != "" {
		if n, err := strconv.Atoi(z); err == nil {
			sa.ZoneId = uint32(n)
		} else if ifi, err := net.InterfaceByName(z); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		} else {
			return nil, 0, fmt.Errorf("zone %q: %w", z, err)
		}
	}
	return sa, unix.AF_INET6, nil
}

// write sends one packet.
func (c *peerConn) write(b []byte) error {
	_, err := c.f.Write(b)
	return err
}

// writeBatch sends the packets in order.
func (c *peerConn) writeBatch(pkts [][]byte) error {
	for _, p := range pkts {
		if err := c.write(p); err != nil {
			return err
		}
	}
	return nil
}

// read reads one packet, waiting at most timeout (to the millisecond). It
// returns os.ErrDeadlineExceeded after the timeout and errInterrupted
// once interrupt has been called.
func (c *peerConn) read(b []byte, timeout time.Duration) (int, error) {
	if timeout <= 0 {
		return 0, os.ErrDeadlineExceeded
	}
	timeout = max(timeout, time.Millisecond)
	if d := c.timeout - timeout; d < 0 || d >= time.Millisecond {
		tv := unix.NsecToTimeval(timeout.Nanoseconds())
		var serr error
		if err := c.rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptTimeval(int(fd), unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		}); err != nil {
			return 0, err
		}
		if serr != nil {
			return 0, os.NewSyscallError("setsockopt", serr)
		}
		c.timeout = timeout
	}
	if c.interrupted.Load() {
		return 0, errInterrupted
	}
	n, err := c.f.Read(b)
	switch {
	case err == nil:
		return n, nil
	case c.interrupted.Load():
		return 0, errInterrupted
	case errors.Is(err, syscall.EAGAIN):
		return 0, os.ErrDeadlineExceeded
	case errors.Is(err, io.EOF): // an empty datagram
		return 0, nil
	}
	return 0, err
}

// interrupt makes a pending and every later read return errInterrupted.
func (c *peerConn) interrupt() {
	c.interrupted.Store(true)
	c.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RD) })
}

// close closes the socket.
func (c *peerConn) close() error { return c.f.Close() }
