package tftpd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// blockingConn is a blocking socket with a receive timeout
// (SO_RCVTIMEO): the goroutine waits for its client in the system call
// and runs on as soon as an ACK arrives, without a round through the
// runtime's network poller, which in lockstep is about half of a
// block's round trip over loopback. The waiting thread keeps its
// processor (P) until the runtime takes it back, so the server uses
// such sockets only while it runs fewer transfers than GOMAXPROCS.
type blockingConn struct {
	f           *os.File // owns the descriptor
	rc          syscall.RawConn
	timeout     time.Duration // the receive timeout set on the socket
	interrupted atomic.Bool
	reads       int
}

func dialBlocking(local netip.Addr, remote netip.AddrPort) (peerConn, error) {
	rsa, family, err := sockaddr(remote)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	f := os.NewFile(uintptr(fd), "udp "+remote.String())
	c := &blockingConn{f: f}
	if c.rc, err = f.SyscallConn(); err != nil {
		f.Close()
		return nil, err
	}
	if local = local.Unmap(); local.IsValid() && local.Is4() == (family == unix.AF_INET) {
		var lsa unix.Sockaddr
		if lsa, _, err = sockaddr(netip.AddrPortFrom(local, 0)); err == nil {
			err = os.NewSyscallError("bind", unix.Bind(fd, lsa))
		}
	}
	if err == nil {
		err = os.NewSyscallError("connect", unix.Connect(fd, rsa))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// sockaddr converts ap to a socket address and its family.
func sockaddr(ap netip.AddrPort) (unix.Sockaddr, int, error) {
	a := ap.Addr().Unmap()
	if a.Is4() {
		return &unix.SockaddrInet4{Addr: a.As4(), Port: int(ap.Port())}, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Addr: a.As16(), Port: int(ap.Port())}
	if z := a.Zone(); z != "" {
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

func (c *blockingConn) write(b []byte) error {
	_, err := c.f.Write(b)
	return err
}

func (c *blockingConn) writeBatch(pkts [][]byte) error {
	for _, p := range pkts {
		if err := c.write(p); err != nil {
			return err
		}
	}
	return nil
}

// read sets the socket's receive timeout only when it changes by a
// millisecond or more.
func (c *blockingConn) read(b []byte, timeout time.Duration) (int, error) {
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
	// A goroutine that only ever waits in system calls is never
	// rescheduled; after 10 ms the runtime preempts it and its monitor
	// thread polls every 20 µs for a while, waking a processor that the
	// client could use. Yielding every 256 packets (a few milliseconds
	// in lockstep) keeps the monitor asleep: a lockstep transfer over
	// loopback is about 10% faster.
	if c.reads++; c.reads%256 == 0 {
		runtime.Gosched()
	}
	n, err := c.f.Read(b)
	switch {
	case err == nil:
		return n, nil
	case c.interrupted.Load():
		return 0, errInterrupted
	case errors.Is(err, syscall.EAGAIN):
		return 0, os.ErrDeadlineExceeded
	case err == io.EOF: // an empty datagram
		return 0, nil
	}
	return 0, err
}

// interrupt shuts the socket down for reading, which wakes a blocked
// read. The descriptor cannot have been reused: os.File keeps it open
// while Control runs, and Control fails once it is closed.
func (c *blockingConn) interrupt() {
	c.interrupted.Store(true)
	c.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RD) })
}

func (c *blockingConn) close() error { return c.f.Close() }
