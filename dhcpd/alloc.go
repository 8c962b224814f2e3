package dhcpd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pxelator/pxelator"
)

// ErrPoolFull is returned when no address of the range is free.
var ErrPoolFull = errors.New("dhcpd: address pool is full")

// fullRetry is how long a full pool is not scanned again: a machine
// deleted from the store frees its address within that time.
const fullRetry = time.Second

// allocator hands out the addresses of a range to new machines. A cursor
// walks the range, so finding a free address costs a few in-memory store
// lookups, not a scan of the range; only a full pool is scanned end to end,
// at most once per fullRetry.
//
// Concurrent allocations for different MACs reserve different addresses
// before they write to the store; concurrent allocations for one MAC wait
// for the first and share its result.
type allocator struct {
	store       pxelator.Store
	server      netip.Addr
	subnet      netip.Prefix
	first, last uint32

	mu       sync.Mutex
	next     uint32
	pending  map[string]*allocation // by MAC
	reserved map[uint32]bool        // addresses being written
	declined map[uint32]bool
	fullTill time.Time
}

type allocation struct {
	done chan struct{}
	m    pxelator.Machine
	err  error
}

func newAllocator(store pxelator.Store, server netip.Addr, subnet netip.Prefix, first, last netip.Addr) (*allocator, error) {
	if !first.Is4() || !last.Is4() || last.Less(first) {
		return nil, fmt.Errorf("dhcpd: bad range %v-%v", first, last)
	}
	a := &allocator{store: store, server: server, subnet: subnet, first: u32(first), last: u32(last),
		pending: make(map[string]*allocation), reserved: make(map[uint32]bool), declined: make(map[uint32]bool)}
	a.next = a.first
	// Start after the highest address in use, where the last run stopped,
	// rather than walking the machines at the start of the range.
	ms, err := store.List(context.Background())
	if err != nil {
		return nil, fmt.Errorf("dhcpd: store: %w", err)
	}
	for _, m := range ms {
		if a.inRange(m.IP) && u32(m.IP) >= a.next {
			a.next = u32(m.IP) + 1
		}
	}
	if a.next > a.last || a.next < a.first {
		a.next = a.first
	}
	return a, nil
}

func u32(a netip.Addr) uint32 { b := a.As4(); return binary.BigEndian.Uint32(b[:]) }

func addr(n uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return netip.AddrFrom4(b)
}

// inRange reports whether ip is an address of the range.
func (a *allocator) inRange(ip netip.Addr) bool {
	return ip.Is4() && u32(ip) >= a.first && u32(ip) <= a.last
}

// lease returns the machine with mac, creating it with the next free
// address when the store does not know it. created reports a new machine.
// The new machine is in the store (durable, for a DirStore) on return.
func (a *allocator) lease(ctx context.Context, mac net.HardwareAddr, tmpl pxelator.Machine) (m pxelator.Machine, created bool, err error) {
	if m, err := a.store.ByMAC(ctx, mac); err == nil {
		return m, false, nil
	} else if !errors.Is(err, pxelator.ErrNotFound) {
		return m, false, fmt.Errorf("dhcpd: store: %w", err)
	}
	key := string(mac)
	a.mu.Lock()
	if p, ok := a.pending[key]; ok {
		a.mu.Unlock()
		select {
		case <-p.done:
			return p.m, false, p.err
		case <-ctx.Done():
			return pxelator.Machine{}, false, ctx.Err()
		}
	}
	// The store may have got the machine between ByMAC and the lock.
	if m, err := a.store.ByMAC(ctx, mac); err == nil {
		a.mu.Unlock()
		return m, false, nil
	}
	p := &allocation{done: make(chan struct{})}
	a.pending[key] = p
	a.mu.Unlock()

	p.m, p.err = a.create(ctx, mac, tmpl)

	a.mu.Lock()
	delete(a.pending, key)
	a.mu.Unlock()
	close(p.done)
	return p.m, p.err == nil, p.err
}

// create picks a free address and puts a new machine there, moving on to
// another address when someone else took it in the meantime.
func (a *allocator) create(ctx context.Context, mac net.HardwareAddr, tmpl pxelator.Machine) (pxelator.Machine, error) {
	for range 8 {
		ip, err := a.reserve(ctx)
		if err != nil {
			return pxelator.Machine{}, err
		}
		m := tmpl.Clone()
		m.MAC, m.IP = mac, addr(ip)
		err = a.store.Put(ctx, m)
		a.mu.Lock()
		delete(a.reserved, ip)
		a.mu.Unlock()
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, pxelator.ErrConflict) {
			return pxelator.Machine{}, fmt.Errorf("dhcpd: store: %w", err)
		}
	}
	return pxelator.Machine{}, fmt.Errorf("dhcpd: no address for %v: the store keeps refusing", mac)
}

// reserve returns the next address that is in no machine's hands.
func (a *allocator) reserve(ctx context.Context) (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Now().Before(a.fullTill) {
		return 0, ErrPoolFull
	}
	size := uint64(a.last-a.first) + 1
	for range size {
		ip := a.next
		if a.next == a.last {
			a.next = a.first
		} else {
			a.next++
		}
		if a.reserved[ip] || a.declined[ip] || addr(ip) == a.server || a.reservedByNetwork(ip) {
			continue
		}
		if _, err := a.store.ByIP(ctx, addr(ip)); errors.Is(err, pxelator.ErrNotFound) {
			a.reserved[ip] = true
			return ip, nil
		}
	}
	a.fullTill = time.Now().Add(fullRetry)
	return 0, ErrPoolFull
}

// reservedByNetwork reports the network and broadcast addresses of the
// subnet, which are never given to a machine.
func (a *allocator) reservedByNetwork(ip uint32) bool {
	if !a.subnet.IsValid() || a.subnet.Bits() >= 31 {
		return false
	}
	net := u32(a.subnet.Masked().Addr())
	bcast := net | (1<<(32-a.subnet.Bits()) - 1)
	return ip == net || ip == bcast
}

// decline marks ip as in use by something that is not a machine of ours:
// it is not handed out again by this allocator.
func (a *allocator) decline(ip netip.Addr) {
	if !a.inRange(ip) {
		return
	}
	a.mu.Lock()
	a.declined[u32(ip)] = true
	a.mu.Unlock()
}
