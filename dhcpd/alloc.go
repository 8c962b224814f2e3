package dhcpd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pxelator/pxelator"
)

// ErrPoolFull is returned when no address of the range is free.
var ErrPoolFull = errors.New("dhcpd: address pool is full")

// ErrBusy is returned when so many new machines are being written that
// another one is not taken now; the client will ask again.
var ErrBusy = errors.New("dhcpd: store is behind, not taking new machines now")

// errTaken is why a REQUEST of a new machine is refused: the address it
// asks for is another's (offered to another MAC, in the store, declined),
// or not one of the range.
var errTaken = errors.New("dhcpd: address not available")

// errWriting is returned for a REQUEST of a MAC whose new machine is
// being written already, or was just written: the first REQUEST's ACK
// answers it.
var errWriting = errors.New("dhcpd: new machine being written")

// AttrCreated is the attribute of the machines a [StoreHandler] creates:
// the time it created them (RFC 3339). A machine whose only attribute it
// is (no host name, no profile, nothing else) is DHCP's own: once its
// lease has run out it may be taken back for a new machine when the pool
// is full. Remove the attribute, or name the machine, to keep it.
const AttrCreated = "dhcp.created"

// fullRetry is how long a full pool is not scanned again: a machine
// deleted from the store frees its address within that time.
const fullRetry = time.Second

// allocator hands out the addresses of a range to new machines.
//
// An OFFER to a new MAC holds an address in memory for a while (an
// offer); nothing is written before the client REQUESTs it, when the
// offer becomes a write. While other addresses are free an offer keeps
// its address; once every address is in the store, written or offered,
// the oldest offer gives way to a new one, so a storm of DISCOVERs from
// random MACs never locks a real client out. When no offer is left to
// give way, machines that DHCP created, that nobody touched and whose
// lease has run out are taken back.
//
// A cursor walks the range, so finding a free address costs a few
// in-memory store lookups, not a scan of the range; only a full pool is
// scanned end to end, at most once per fullRetry.
type allocator struct {
	store       pxelator.Store
	server      netip.Addr
	subnet      netip.Prefix
	first, last uint32
	hold        time.Duration // how long an offer keeps its address
	leaseTime   time.Duration
	start       time.Time // the lease of a machine not seen since then ends leaseTime after it

	mu        sync.Mutex
	next      uint32
	held      map[uint32]*hold // offers and writes in flight, by address
	byMAC     map[string]*hold // the same, by MAC
	offers    holdList         // the offers, oldest first
	declined  map[uint32]time.Time
	fullTill  time.Time // no address was free at the last scan: none is looked for before
	spare     []uint32  // the machines the last full scan found to take back
	spareTill time.Time // the last full scan found none: no scan is forced before

	leases leaseBook

	writes   chan struct{}  // semaphore of writes in flight
	puts     chan struct{}  // semaphore of writes in the store's Put
	rate     writeRate      // how many of them to admit
	inflight sync.WaitGroup // the writes and the replies that follow them
}

// A hold is an address held for a new MAC: an offer, or a write.
type hold struct {
	mac        net.HardwareAddr
	ip         uint32
	until      time.Time        // when an offer lapses
	victim     net.HardwareAddr // the expired machine at ip to take back first, or nil
	writing    bool             // a REQUEST took it: it is being written
	prev, next *hold            // in allocator.offers, while an offer
}

// holdList is a list of offers, oldest first.
type holdList struct{ head, tail *hold }

func (l *holdList) push(h *hold) {
	h.prev, h.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = h
	} else {
		l.head = h
	}
	l.tail = h
}

func (l *holdList) remove(h *hold) {
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		l.head = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	} else {
		l.tail = h.prev
	}
	h.prev, h.next = nil, nil
}

func newAllocator(store pxelator.Store, cfg Config) (*allocator, error) {
	first, last := cfg.First, cfg.Last
	if !first.Is4() || !last.Is4() || last.Less(first) {
		return nil, fmt.Errorf("dhcpd: bad range %v-%v", first, last)
	}
	a := &allocator{store: store, server: cfg.ServerIP, subnet: cfg.Subnet, first: u32(first), last: u32(last),
		hold: cfg.OfferHold, leaseTime: cfg.LeaseTime, start: time.Now(),
		held: make(map[uint32]*hold), byMAC: make(map[string]*hold), declined: make(map[uint32]time.Time),
		leases: leaseBook{m: make(map[string]*lease)},
		writes: make(chan struct{}, maxWrites), puts: make(chan struct{}, maxPuts)}
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

// maxWrites bounds the new machines being written to the store at once;
// minWrites are always admitted, so that a boot storm's first second is
// not refused while the store's rate is not known yet.
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

// offer returns the address offered to mac, a MAC the store does not
// know: the one it holds already, else a new hold.
func (a *allocator) offer(ctx context.Context, mac net.HardwareAddr, now time.Time) (netip.Addr, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h := a.byMAC[string(mac)]; h != nil {
		if !h.writing { // asked again: the offer starts over, the newest
			h.until = now.Add(a.hold)
			a.offers.remove(h)
			a.offers.push(h)
		}
		return addr(h.ip), nil
	}
	// Its write may have ended between the caller's lookup and the lock.
	if m, err := a.store.ByMAC(ctx, mac); err == nil {
		return m.IP, nil
	}
	h := &hold{mac: slices.Clone(mac), until: now.Add(a.hold)}
	ip, ok := a.freeLocked(ctx, now, false)
	if !ok && a.offers.head == nil && len(a.spare) == 0 && !now.Before(a.spareTill) {
		// The machines the last scan found to take back are used up:
		// look for more now, not after fullRetry.
		ip, ok = a.freeLocked(ctx, now, true)
	}
	switch {
	case ok:
		h.ip = ip
	case a.offers.head != nil: // the oldest offer gives way
		old := a.offers.head
		a.dropLocked(old)
		h.ip, h.victim = old.ip, old.victim
	default:
		ip, victim, ok := a.spareLocked(ctx, now)
		if !ok {
			return netip.Addr{}, ErrPoolFull
		}
		h.ip, h.victim = ip, victim
	}
	a.held[h.ip] = h
	a.byMAC[string(h.mac)] = h
	a.offers.push(h)
	return addr(h.ip), nil
}

// freeLocked returns the next address after the cursor that is in no
// one's hands. When there is none it scans no more until fullRetry has
// passed (or a quarantine it met ends) unless forced, and keeps the
// machines it can take back for spareLocked; when there are none of
// those either, it is not forced again before then.
func (a *allocator) freeLocked(ctx context.Context, now time.Time, force bool) (uint32, bool) {
	if now.Before(a.fullTill) && !force {
		return 0, false
	}
	till := now.Add(fullRetry)
	var spare []uint32
	for range uint64(a.last-a.first) + 1 {
		ip := a.next
		if a.next == a.last {
			a.next = a.first
		} else {
			a.next++
		}
		if addr(ip) == a.server || a.reservedByNetwork(ip) {
			continue
		}
		if h := a.held[ip]; h != nil {
			if h.writing || now.Before(h.until) {
				continue
			}
			a.dropLocked(h) // a lapsed offer
		}
		if t, ok := a.declined[ip]; ok {
			if now.Before(t) {
				if t.Before(till) {
					till = t
				}
				continue
			}
			delete(a.declined, ip)
		}
		m, err := a.store.ByIP(ctx, addr(ip))
		if errors.Is(err, pxelator.ErrNotFound) {
			return ip, true
		}
		if err == nil && a.reclaimable(m, now) {
			spare = append(spare, ip)
		}
	}
	a.fullTill, a.spare = till, spare
	if len(spare) == 0 {
		a.spareTill = till
	}
	return 0, false
}

// spareLocked returns the address of a machine to take back, and its
// MAC, from those the last full scan found.
func (a *allocator) spareLocked(ctx context.Context, now time.Time) (uint32, net.HardwareAddr, bool) {
	for len(a.spare) > 0 {
		ip := a.spare[0]
		a.spare = a.spare[1:]
		if a.held[ip] != nil {
			continue
		}
		if m, err := a.store.ByIP(ctx, addr(ip)); err == nil && a.reclaimable(m, now) {
			return ip, m.MAC, true
		}
	}
	return 0, nil, false
}

// dhcpOwn reports whether m is a machine of this range that DHCP created
// and nobody touched: AttrCreated is all it has.
func (a *allocator) dhcpOwn(m pxelator.Machine) bool {
	if m.Server != a.server || m.Hostname != "" || m.Profile != "" || !a.inRange(m.IP) {
		return false
	}
	n := 0
	for k := range m.Attrs() {
		if n++; k != AttrCreated {
			return false
		}
	}
	return n == 1
}

// reclaimable reports whether m is DHCP's own and its lease has run out.
func (a *allocator) reclaimable(m pxelator.Machine, now time.Time) bool {
	if !a.dhcpOwn(m) {
		return false
	}
	end := a.start.Add(a.leaseTime)
	if l, ok := a.leases.get(m.MAC); ok {
		end = l.until
	}
	return now.After(end)
}

// take turns the address a new MAC REQUESTs into a write: its offer, or
// another address of the range that is free. want may be invalid for
// the address offered. It fails with errTaken when the address is not
// the MAC's to have, and with errWriting when the MAC is being written.
func (a *allocator) take(ctx context.Context, mac net.HardwareAddr, want netip.Addr, now time.Time) (*hold, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h := a.byMAC[string(mac)]; h != nil {
		switch {
		case h.writing:
			return nil, errWriting
		case !want.IsValid() || addr(h.ip) == want:
			a.offers.remove(h)
			h.writing = true
			return h, nil
		}
		a.dropLocked(h) // it asks for another address than it was offered
	} else if _, err := a.store.ByMAC(ctx, mac); err == nil {
		return nil, errWriting // written between the caller's lookup and the lock
	}
	if !a.inRange(want) || want == a.server || a.reservedByNetwork(u32(want)) {
		return nil, errTaken
	}
	ip := u32(want)
	if h := a.held[ip]; h != nil {
		if h.writing || now.Before(h.until) {
			return nil, errTaken
		}
		a.dropLocked(h)
	}
	if t, ok := a.declined[ip]; ok && now.Before(t) {
		return nil, errTaken
	}
	if _, err := a.store.ByIP(ctx, want); !errors.Is(err, pxelator.ErrNotFound) {
		return nil, errTaken
	}
	h := &hold{mac: slices.Clone(mac), ip: ip, writing: true}
	a.held[ip] = h
	a.byMAC[string(h.mac)] = h
	return h, nil
}

// release turns a write that was not admitted back into an offer.
func (a *allocator) release(h *hold, now time.Time) {
	a.mu.Lock()
	h.writing = false
	h.until = now.Add(a.hold)
	a.offers.push(h)
	a.mu.Unlock()
}

// dropLocked forgets h.
func (a *allocator) dropLocked(h *hold) {
	if a.held[h.ip] == h {
		delete(a.held, h.ip)
	}
	if a.byMAC[string(h.mac)] == h {
		delete(a.byMAC, string(h.mac))
	}
	if !h.writing {
		a.offers.remove(h)
	}
}

// admit reports whether a new machine may be written now: no more are in
// flight than the store completes in writeLatency. An admitted write
// must follow.
func (a *allocator) admit(now time.Time) bool {
	if len(a.writes) >= a.rate.limit(now) {
		return false
	}
	select {
	case a.writes <- struct{}{}:
		return true
	default:
		return false
	}
}

// written is the outcome of a write.
type written struct {
	m         pxelator.Machine
	reclaimed net.HardwareAddr // the expired machine taken back for it, or nil
	err       error
}

// write puts m, a new machine, in the store at the address of h, which
// take returned and admit admitted, and then calls done, from another
// goroutine: REQUESTs written at once share the store's syncs.
func (a *allocator) write(ctx context.Context, h *hold, m pxelator.Machine, done func(written)) {
	a.inflight.Add(1)
	go func() {
		defer a.inflight.Done()
		a.puts <- struct{}{}
		w := a.create(context.WithoutCancel(ctx), h, m)
		<-a.puts
		<-a.writes
		a.rate.done(time.Now())
		a.mu.Lock()
		a.dropLocked(h)
		a.mu.Unlock()
		done(w)
	}()
}

// create puts m in the store at h's address, taking back the expired
// machine there first, if any.
func (a *allocator) create(ctx context.Context, h *hold, m pxelator.Machine) written {
	m.IP = addr(h.ip)
	w := written{m: m}
	if h.victim != nil {
		old, err := a.store.ByMAC(ctx, h.victim)
		if err == nil && old.IP == m.IP {
			if !a.reclaimable(old, time.Now()) { // renewed or touched since the offer
				w.err = errTaken
				return w
			}
			if err := a.store.Delete(ctx, h.victim); err != nil && !errors.Is(err, pxelator.ErrNotFound) {
				w.err = fmt.Errorf("dhcpd: store: %w", err)
				return w
			}
			a.leases.drop(h.victim)
			w.reclaimed = h.victim
		}
	}
	if err := a.store.Put(ctx, m); errors.Is(err, pxelator.ErrConflict) {
		w.err = errTaken // someone took the address in the meantime
	} else if err != nil {
		w.err = fmt.Errorf("dhcpd: store: %w", err)
	}
	return w
}

// quarantine keeps ip from being handed out until till.
func (a *allocator) quarantine(ip netip.Addr, till time.Time) {
	if !a.inRange(ip) {
		return
	}
	a.mu.Lock()
	a.declined[u32(ip)] = till
	a.mu.Unlock()
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

// leaseBook remembers, by MAC, the lease this server last ACKed: the
// address and when it ends. It is in memory only: after a start, the
// machines' leases are taken to end one lease time later.
type leaseBook struct {
	mu sync.Mutex
	m  map[string]*lease
}

type lease struct {
	ip    netip.Addr
	until time.Time
}

func (b *leaseBook) set(mac net.HardwareAddr, ip netip.Addr, until time.Time) {
	b.mu.Lock()
	if l, ok := b.m[string(mac)]; ok { // an ACK of a known lease allocates nothing
		l.ip, l.until = ip, until
	} else {
		b.m[string(mac)] = &lease{ip: ip, until: until}
	}
	b.mu.Unlock()
}

func (b *leaseBook) get(mac net.HardwareAddr) (lease, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.m[string(mac)]; ok {
		return *l, true
	}
	return lease{}, false
}

func (b *leaseBook) drop(mac net.HardwareAddr) {
	b.mu.Lock()
	delete(b.m, string(mac))
	b.mu.Unlock()
}
