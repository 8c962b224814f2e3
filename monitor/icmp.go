package monitor

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/icmp"
)

// Conn sends ICMP echo requests and reads echo replies: one Conn serves
// every machine a [Monitor] pings. [*ICMPConn] is the real one; the
// package monitortest has a fake.
type Conn interface {
	// WriteEcho sends an echo request with sequence number seq and the
	// payload to ip.
	WriteEcho(ip netip.Addr, seq uint16, payload []byte) error
	// ReadEcho reads the next echo reply for this Conn into buf and
	// returns its source and payload (a part of buf). Other ICMP messages
	// and replies to other sockets are skipped. After Close it returns an
	// error wrapping net.ErrClosed.
	ReadEcho(buf []byte) (from netip.Addr, payload []byte, err error)
	// Close closes the socket and ends a ReadEcho in progress.
	Close() error
}

// Networks of [Listen].
const (
	// NetworkDatagram is an unprivileged ICMP datagram socket (a "ping
	// socket"): Linux allows it to the groups in the sysctl
	// net.ipv4.ping_group_range, and delivers to it only the replies to
	// its own requests.
	NetworkDatagram = "udp4"
	// NetworkRaw is a raw ICMP socket: it needs CAP_NET_RAW and sees
	// every ICMP packet of the host, so replies are matched by their
	// identifier.
	NetworkRaw = "ip4:icmp"
)

// ICMPConn is an IPv4 ICMP echo socket. It is safe for concurrent use.
type ICMPConn struct {
	pc      *icmp.PacketConn
	network string
	id      uint16 // the identifier of raw requests

	wmu  sync.Mutex
	wbuf []byte
}

// Listen opens an ICMP echo socket on network ([NetworkDatagram] or
// [NetworkRaw]), or with "" a datagram socket where the system allows it
// and a raw socket otherwise.
func Listen(network string) (*ICMPConn, error) {
	switch network {
	case NetworkDatagram, NetworkRaw:
		return listen(network)
	case "":
		c, err := listen(NetworkDatagram)
		if err == nil {
			return c, nil
		}
		c, err2 := listen(NetworkRaw)
		if err2 == nil {
			return c, nil
		}
		return nil, fmt.Errorf("monitor: no ICMP socket: datagram (is the group in net.ipv4.ping_group_range?): %w; raw (needs CAP_NET_RAW): %w",
			errors.Unwrap(err), errors.Unwrap(err2))
	}
	return nil, fmt.Errorf("monitor: network %q: want %q, %q or \"\"", network, NetworkDatagram, NetworkRaw)
}

func listen(network string) (*ICMPConn, error) {
	pc, err := icmp.ListenPacket(network, "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("monitor: %s socket: %w", network, err)
	}
	var id [2]byte
	rand.Read(id[:])
	return &ICMPConn{pc: pc, network: network, id: binary.BigEndian.Uint16(id[:])}, nil
}

// Network returns the socket's network: [NetworkDatagram] or [NetworkRaw].
func (c *ICMPConn) Network() string { return c.network }

// WriteEcho implements [Conn].
func (c *ICMPConn) WriteEcho(ip netip.Addr, seq uint16, payload []byte) error {
	if !ip.Is4() {
		return fmt.Errorf("monitor: ping %v: not an IPv4 address", ip)
	}
	var dst net.Addr
	if c.network == NetworkRaw {
		dst = &net.IPAddr{IP: ip.AsSlice()}
	} else {
		dst = &net.UDPAddr{IP: ip.AsSlice()}
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf = appendEcho(c.wbuf[:0], icmpEchoRequest, c.id, seq, payload)
	if _, err := c.pc.WriteTo(c.wbuf, dst); err != nil {
		return fmt.Errorf("monitor: ping %v: %w", ip, err)
	}
	return nil
}

// ReadEcho implements [Conn].
func (c *ICMPConn) ReadEcho(buf []byte) (netip.Addr, []byte, error) {
	for {
		n, from, err := c.pc.ReadFrom(buf)
		if err != nil {
			return netip.Addr{}, nil, fmt.Errorf("monitor: reading replies: %w", err)
		}
		// A datagram socket only gets its own replies, with the
		// identifier the kernel chose; a raw socket gets everything.
		raw := c.network == NetworkRaw
		e, ok := ParseEcho(buf[:n], raw)
		if !ok || e.Type != icmpEchoReply || raw && e.ID != c.id {
			continue
		}
		var ip netip.Addr
		switch a := from.(type) {
		case *net.IPAddr:
			ip, _ = netip.AddrFromSlice(a.IP)
		case *net.UDPAddr:
			ip, _ = netip.AddrFromSlice(a.IP)
		}
		return ip.Unmap(), e.Payload, nil
	}
}

// Close implements [Conn].
func (c *ICMPConn) Close() error { return c.pc.Close() }

// ICMP message types of echo.
const (
	icmpEchoReply   = 0
	icmpEchoRequest = 8
)

// Echo is an ICMP echo request or reply.
type Echo struct {
	Type, Code uint8
	ID, Seq    uint16
	Payload    []byte // a part of the message parsed
}

// ParseEcho parses an ICMPv4 message (without its IP header) and returns
// it if it is an echo request or reply. With check it also verifies the
// checksum, which the kernel has not done for a raw socket.
func ParseEcho(b []byte, check bool) (Echo, bool) {
	if len(b) < 8 {
		return Echo{}, false
	}
	e := Echo{
		Type: b[0], Code: b[1],
		ID:      binary.BigEndian.Uint16(b[4:6]),
		Seq:     binary.BigEndian.Uint16(b[6:8]),
		Payload: b[8:],
	}
	if e.Type != icmpEchoReply && e.Type != icmpEchoRequest || e.Code != 0 {
		return Echo{}, false
	}
	if check && checksum(b) != 0 {
		return Echo{}, false
	}
	return e, true
}

// appendEcho appends an ICMPv4 echo message to b.
func appendEcho(b []byte, typ uint8, id, seq uint16, payload []byte) []byte {
	start := len(b)
	b = append(b, typ, 0, 0, 0, byte(id>>8), byte(id), byte(seq>>8), byte(seq))
	b = append(b, payload...)
	binary.BigEndian.PutUint16(b[start+2:], checksum(b[start:]))
	return b
}

// checksum is the Internet checksum (RFC 1071) of b: 0 for a message
// whose checksum field is right.
func checksum(b []byte) uint16 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
