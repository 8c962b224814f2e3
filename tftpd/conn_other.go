//go:build !linux

package tftpd

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// setReadBuffer sets the socket's receive buffer to n bytes.
func setReadBuffer(conn *net.UDPConn, n int) error { return conn.SetReadBuffer(n) }

// peerConn is a transfer's socket, connected to the client.
type peerConn struct {
	conn        *net.UDPConn
	batch       *ipv4.PacketConn
	msgs        []ipv4.Message
	interrupted atomic.Bool
}

// dialPeer opens a socket bound to local (any address if invalid) and
// connected to remote.
func dialPeer(local netip.Addr, remote netip.AddrPort) (*peerConn, error) {
	laddr := &net.UDPAddr{}
	if local.IsValid() {
		laddr.IP = local.AsSlice()
	}
	conn, err := net.DialUDP("udp", laddr, net.UDPAddrFromAddrPort(remote))
	if err != nil {
		return nil, err
	}
	return &peerConn{conn: conn}, nil
}

// write sends one packet.
func (c *peerConn) write(b []byte) error {
	_, err := c.conn.Write(b)
	return err
}

// writeBatch sends the packets in order, with as few system calls as the
// platform allows.
func (c *peerConn) writeBatch(pkts [][]byte) error {
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

// read reads one packet, waiting at most timeout. It returns
// os.ErrDeadlineExceeded after the timeout and errInterrupted once
// interrupt has been called.
func (c *peerConn) read(b []byte, timeout time.Duration) (int, error) {
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	if c.interrupted.Load() {
		return 0, errInterrupted
	}
	n, err := c.conn.Read(b)
	if err != nil && c.interrupted.Load() {
		return 0, errInterrupted
	}
	return n, err
}

// interrupt makes a pending and every later read return errInterrupted.
func (c *peerConn) interrupt() {
	c.interrupted.Store(true)
	c.conn.SetReadDeadline(time.Now())
}

// close closes the socket.
func (c *peerConn) close() error { return c.conn.Close() }
