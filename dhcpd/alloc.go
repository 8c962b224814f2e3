package dhcpd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pxelator/pxelator"
)

// ErrPoolFull is returned when no address of the range is free.
var ErrPoolFull = errors.New("dhcpd: address pool is full")

// ErrBusy is returned when so many new machines are being written that
// another one is not offered now; the client will ask again.
var ErrBusy = errors.New("dhcpd: store is behind, not offering new addresses now")

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
	writes   chan struct{}  // semaphore of writes in flight
	puts     chan struct{}  // semaphore of writes in the store's Put
	rate     writeRate      // how many of them to admit for an OFFER
	inflight sync.WaitGroup // writes that no request waits for
	log      *slog.Logger
}

type allocation struct {
	offer pxelator.Machine // the machine as reserved, before it is written
	done  chan struct{}    // closed when m and err are set
	m     pxelator.Machine
	err   error
}

func newAllocator(store pxelator.Store, server netip.Addr, subnet netip.Prefix, first, last netip.Addr, log *slog.Logger) (*allocator, error) {
	if !first.Is4() || !last.Is4() || last.Less(first) {
		return nil, fmt.Errorf("dhcpd: bad range %v-%v", first, last)
	}
	a := &allocator{store: store, server: server, subnet: subnet, first: u32(first), last: u32(last),
		pending: make(map[string]*allocation), reserved: make(map[uint32]bool), declined: make(map[uint32]bool),
		writes: make(chan struct{}, maxWrites), puts: make(chan struct{}, maxPuts), log: log}
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

// maxWrites bounds the new machines being written to the store at once
// while their OFFERs are already out; minWrites are always admitted, so
// that a boot storm's first second is not refused while the store's rate
// is not known yet.
const (
	maxWrites = 4096
	minWrites = 2048
)

// maxPuts bounds the writes in flight that are in the store's Put at
// once; the others wait their turn without a thread. Enough for a
// DirStore to share one journal sync among many; not so many that a
// store which blocks in the kernel takes thousands of threads while the
// workers answering requests wait for a processor.
const maxPuts = 1024

// writeLatency is how long a new machine may wait for the store before
// its REQUEST is answered: more writes are not admitted than the store
// completes in that time, so that a slow store sheds load (the clients ask
// again) instead of queueing REQUESTs past their clients' patience.
const writeLatency = 500 * time.Millisecond

// writeRate counts the writes the store completes per second.
type writeRate struct {
	mu        sync.Mutex
	sec       int64 // the current second
	cur, prev int   // writes done in it and in the one before
}

func (r *writeRate) roll(now time.Time) {
	if s := now.Unix(); s != r.sec {
		if s == r.sec+1 {
			r.prev = r.cur
		} else {
			r.prev = 0
		}
		r.sec, r.cur = s, 0
	}
}

func (r *writeRate) done(now time.Time) {
	r.mu.Lock()
	r.roll(now)
	r.cur++
	r.mu.Unlock()
}

// limit returns how many writes may be in flight: what the store did in
// the last second times writeLatency, within [minWrites, maxWrites]. A
// fast store earns a higher limit each second; a slow one a lower.
func (r *writeRate) limit(now time.Time) int {
	r.mu.Lock()
	r.roll(now)
	n := max(r.prev, r.cur) * int(writeLatency/time.Millisecond) / 1000
	r.mu.Unlock()
	return min(max(n, minWrites), maxWrites)
}

// lease returns the machine with mac, creating it with the next free
// address when the store does not know it; created reports a new machine.
//
// The write of a new machine starts at once. With durable set, lease
// returns when the machine is in the store (durable, for a DirStore): an
// ACK or a BOOTP reply must not leave before (RFC 2131 §4.3.1). Without
// it, lease returns the reserved address while the write goes on, so that
// an OFFER does not wait for the disk; the REQUEST that follows waits.
// Many writes in flight let a DirStore share its syncs among them.
func (a *allocator) lease(ctx context.Context, mac net.HardwareAddr, tmpl pxelator.Machine, durable bool) (m pxelator.Machine, created bool, err error) {
	if m, err := a.store.ByMAC(ctx, mac); err == nil {
		return m, false, nil
	} else if !errors.Is(err, pxelator.ErrNotFound) {
		return m, false, fmt.Errorf("dhcpd: store: %w", err)
	}
	key := string(mac)
	a.mu.Lock()
	if p, ok := a.pending[key]; ok {
		a.mu.Unlock()
		if !durable {
			return p.offer, false, nil
		}
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
	ip, err := a.reserveLocked(ctx)
	if err != nil {
		a.mu.Unlock()
		return pxelator.Machine{}, false, err
	}
	p := &allocation{done: make(chan struct{}), offer: tmpl.Clone()}
	p.offer.MAC, p.offer.IP = mac, addr(ip)
	a.pending[key] = p
	a.mu.Unlock()

	if durable {
		select {
		case a.writes <- struct{}{}:
		case <-ctx.Done():
			a.finish(key, p, pxelator.Machine{}, ctx.Err(), ip)
			return pxelator.Machine{}, false, ctx.Err()
		}
	} else {
		admitted := false
		if len(a.writes) < a.rate.limit(time.Now()) {
			select {
			case a.writes <- struct{}{}:
				admitted = true
			default:
			}
		}
		if !admitted { // the store is behind: an OFFER now would only wait
			a.finish(key, p, pxelator.Machine{}, ErrBusy, ip)
			return pxelator.Machine{}, false, ErrBusy
		}
	}
	wctx := context.WithoutCancel(ctx)
	write := func() {
		a.puts <- struct{}{}
		m, err := a.create(wctx, p.offer, ip)
		<-a.puts
		<-a.writes
		a.rate.done(time.Now())
		if err != nil && !durable {
			a.log.Error("dhcpd: writing a new machine", "mac", mac.String(), "ip", p.offer.IP, "err", err)
		}
		a.finish(key, p, m, err, ip)
	}
	if !durable {
		a.inflight.Add(1)
		go func() {
			defer a.inflight.Done()
			write()
		}()
		return p.offer, true, nil
	}
	write()
	return p.m, p.err == nil, p.err
}

// waitFor returns, for a MAC whose new machine is being written, a
// function that waits for the write and returns the machine; else nil.
func (a *allocator) waitFor(mac net.HardwareAddr) func(context.Context) (pxelator.Machine, error) {
	a.mu.Lock()
	p, ok := a.pending[string(mac)]
	a.mu.Unlock()
	if !ok {
		return nil
	}
	return func(ctx context.Context) (pxelator.Machine, error) {
		select {
		case <-p.done:
			return p.m, p.err
		case <-ctx.Done():
			return pxelator.Machine{}, ctx.Err()
		}
	}
}

// finish publishes the outcome of an allocation.
func (a *allocator) finish(key string, p *allocation, m pxelator.Machine, err error, ip uint32) {
	p.m, p.err = m, err
	a.mu.Lock()
	delete(a.pending, key)
	delete(a.reserved, ip)
	a.mu.Unlock()
	close(p.done)
}

// create puts m in the store at the reserved address ip, moving on to
// another address when someone else took ip in the meantime.
func (a *allocator) create(ctx context.Context, m pxelator.Machine, ip uint32) (pxelator.Machine, error) {
	for try := range 8 {
		if try > 0 {
			var err error
			if ip, err = a.reserve(ctx); err != nil {
				return pxelator.Machine{}, err
			}
		}
		m.IP = addr(ip)
		err := a.store.Put(ctx, m)
		if try > 0 {
			a.mu.Lock()
			delete(a.reserved, ip)
			a.mu.Unlock()
		}
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, pxelator.ErrConflict) {
			return pxelator.Machine{}, fmt.Errorf("dhcpd: store: %w", err)
		}
	}
	return pxelator.Machine{}, fmt.Errorf("dhcpd: no address for %v: the store keeps refusing", m.MAC)
}

// move puts machine m at a new address.
func (a *allocator) move(ctx context.Context, m pxelator.Machine) (pxelator.Machine, error) {
	ip, err := a.reserve(ctx)
	if err != nil {
		return m, err
	}
	defer func() {
		a.mu.Lock()
		delete(a.reserved, ip)
		a.mu.Unlock()
	}()
	return a.create(ctx, m, ip)
}

// reserve returns the next address that is in no machine's hands.
func (a *allocator) reserve(ctx context.Context) (uint32, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reserveLocked(ctx)
}

// reserveLocked is reserve with a.mu held.
func (a *allocator) reserveLocked(ctx context.Context) (uint32, error) {
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
