package tftpd

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// A peerConn is a transfer's socket, connected to the client.
type peerConn interface {
	write(b []byte) error
	// writeBatch sends the packets in order.
	writeBatch(pkts [][]byte) error
	// read reads one packet, waiting at most timeout. It returns
	// os.ErrDeadlineExceeded after the timeout and errInterrupted once
	// interrupt has been called.
	read(b []byte, timeout time.Duration) (int, error)
	// interrupt makes a pending and every later read return
	// errInterrupted. It may be called from any goroutine, also after
	// close.
	interrupt()
	close() error
}

var errInterrupted = errors.New("tftpd: transfer interrupted")

// dialPeer opens a socket bound to local (any address if invalid) and
// connected to remote. With blocking, the transfer may wait for its
// client in a system call that holds its thread, where the platform
// offers that (see dialBlocking): few transfers get the lowest latency
// that way, while many share the runtime's network poller.
func dialPeer(local netip.Addr, remote netip.AddrPort, blocking bool) (peerConn, error) {
	if blocking {
		if c, err := dialBlocking(local, remote); c != nil || err != nil {
			return c, err
		}
	}
	laddr := &net.UDPAddr{}
	if local.IsValid() {
		laddr.IP = local.AsSlice()
	}
	conn, err := net.DialUDP("udp", laddr, net.UDPAddrFromAddrPort(remote))
	if err != nil {
		return nil, err
	}
	return &polledConn{conn: conn}, nil
}

// polledConn is a socket of package net: a transfer waiting for its
// client parks its goroutine in the runtime's network poller.
type polledConn struct {
	conn        *net.UDPConn
	deadline    time.Time // the read deadline set on conn
	batch       *ipv4.PacketConn
	msgs        []ipv4.Message
	interrupted atomic.Bool
}

func (c *polledConn) write(b []byte) error {
	_, err := c.conn.Write(b)
	return err
}

// writeBatch sends the packets with as few system calls as the platform
// allows (sendmmsg on Linux).
func (c *polledConn) writeBatch(pkts [][]byte) error {
	if c.batch == nil {
		c.batch = ipv4.NewPacketConn(c.conn)
	}
	for len(c.msgs) < len(pkts) {
		c.msgs = append(c.msgs, ipv4.Message{Buffers: make([][]byte, 1)})
	}
	msgs := c.msgs[:len(pkts)]
	for i := range msgs {
		msgs[i].Buffers[0] = pkts[i]
	}
	for len(msgs) > 0 {
		n, err := c.batch.WriteBatch(msgs, 0)
		if err != nil {
			return err
		}
		msgs = msgs[n:]
	}
	return nil
}

// read moves the socket's read deadline only when it has passed or is
// too late: a timer per transfer rather than one per packet.
func (c *polledConn) read(b []byte, timeout time.Duration) (int, error) {
	now := time.Now()
	end := now.Add(timeout)
	for {
		if c.deadline.Before(now) || c.deadline.After(end) {
			c.deadline = end
			c.conn.SetReadDeadline(end)
		}
		if c.interrupted.Load() {
			return 0, errInterrupted
		}
		n, err := c.conn.Read(b)
		if err == nil {
			return n, nil
		}
		if c.interrupted.Load() {
			return 0, errInterrupted
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, err
		}
		if now = time.Now(); !now.Before(end) {
			return 0, err
		}
		// The deadline was set for an earlier packet: wait on.
	}
}

func (c *polledConn) interrupt() {
	c.interrupted.Store(true)
	c.conn.SetReadDeadline(time.Now())
}

func (c *polledConn) close() error { return c.conn.Close() }
