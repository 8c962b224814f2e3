// Package monitortest has a fake ICMP network for testing code that uses
// a monitor (a web page, alert hooks) without root or real machines.
package monitortest

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Conn is a fake ICMP socket satisfying monitor.Conn: an echo request to
// an address that is up is answered after the address's delay; one to an
// address that is down is lost. Every address is down until SetUp. It is
// safe for concurrent use.
type Conn struct {
	mu      sync.Mutex
	up      map[netip.Addr]time.Duration // address: reply delay
	sent    map[netip.Addr]int
	replies chan reply
	closed  chan struct{}
	done    bool
}

type reply struct {
	from    netip.Addr
	payload []byte
}

// NewConn returns a fake socket on a network where every address is down.
func NewConn() *Conn {
	return &Conn{
		up: map[netip.Addr]time.Duration{}, sent: map[netip.Addr]int{},
		replies: make(chan reply, 4096), closed: make(chan struct{}),
	}
}

// SetUp makes ip answer after delay.
func (c *Conn) SetUp(ip netip.Addr, delay time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.up[ip] = delay
}

// SetDown makes ip stop answering.
func (c *Conn) SetDown(ip netip.Addr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.up, ip)
}

// Sent returns how many echo requests were sent to ip.
func (c *Conn) Sent(ip netip.Addr) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[ip]
}

// Addrs returns the addresses echo requests were sent to, in order.
func (c *Conn) Addrs() []netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]netip.Addr, 0, len(c.sent))
	for ip := range c.sent {
		out = append(out, ip)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// WriteEcho implements monitor.Conn.
func (c *Conn) WriteEcho(ip netip.Addr, seq uint16, payload []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return fmt.Errorf("monitortest: %w", net.ErrClosed)
	}
	c.sent[ip]++
	delay, up := c.up[ip]
	if !up {
		return nil
	}
	r := reply{from: ip, payload: slices.Clone(payload)}
	if delay <= 0 {
		c.deliver(r)
		return nil
	}
	time.AfterFunc(delay, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !c.done {
			c.deliver(r)
		}
	})
	return nil
}

// deliver queues a reply, or loses it when the queue is full, as a full
// socket buffer would; c.mu is held.
func (c *Conn) deliver(r reply) {
	select {
	case c.replies <- r:
	default:
	}
}

// ReadEcho implements monitor.Conn.
func (c *Conn) ReadEcho(buf []byte) (netip.Addr, []byte, error) {
	select {
	case r := <-c.replies:
		n := copy(buf, r.payload)
		return r.from, buf[:n], nil
	case <-c.closed:
		return netip.Addr{}, nil, fmt.Errorf("monitortest: %w", net.ErrClosed)
	}
}

// Close implements monitor.Conn.
func (c *Conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.done {
		c.done = true
		close(c.closed)
	}
	return nil
}
