package pxelator

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// index is the in-memory part of every store: machines by MAC, by IP and by
// host name, a generation counter and the watchers to tell of changes.
// MemStore is an index; DirStore is an index mirrored to files.
type index struct {
	mu     sync.RWMutex
	byMAC  map[string]*Machine
	byIP   map[netip.Addr]*Machine
	byName map[string]*Machine // lower-case host name
	gen    uint64

	watchMu  sync.Mutex
	watchers map[chan uint64]struct{}
}

func newIndex() *index {
	return &index{
		byMAC:    make(map[string]*Machine),
		byIP:     make(map[netip.Addr]*Machine),
		byName:   make(map[string]*Machine),
		watchers: make(map[chan uint64]struct{}),
	}
}

// ByMAC implements Store.ByMAC without allocating.
func (x *index) ByMAC(ctx context.Context, mac net.HardwareAddr) (Machine, error) {
	x.mu.RLock()
	m, ok := x.byMAC[string(mac)]
	x.mu.RUnlock()
	if !ok {
		return Machine{}, ErrNotFound
	}
	return *m, nil
}

// ByIP implements Store.ByIP.
func (x *index) ByIP(ctx context.Context, ip netip.Addr) (Machine, error) {
	x.mu.RLock()
	m, ok := x.byIP[ip.Unmap()]
	x.mu.RUnlock()
	if !ok {
		return Machine{}, ErrNotFound
	}
	return *m, nil
}

// ByHostname implements Store.ByHostname.
func (x *index) ByHostname(ctx context.Context, name string) (Machine, error) {
	x.mu.RLock()
	m, ok := x.byName[lowerName(name)]
	x.mu.RUnlock()
	if !ok {
		return Machine{}, ErrNotFound
	}
	return *m, nil
}

// List implements Store.List.
func (x *index) List(ctx context.Context) ([]Machine, error) {
	x.mu.RLock()
	ms := make([]Machine, 0, len(x.byMAC))
	for _, m := range x.byMAC {
		ms = append(ms, *m)
	}
	x.mu.RUnlock()
	slices.SortFunc(ms, func(a, b Machine) int {
		return cmp.Or(a.Server.Compare(b.Server), a.IP.Compare(b.IP))
	})
	return ms, nil
}

// Len returns the number of machines in the store.
func (x *index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byMAC)
}

// check reports whether m can be put without taking another machine's IP
// or host name, and returns the machine m replaces, if any. x.mu is held.
func (x *index) check(m *Machine) (old *Machine, err error) {
	old = x.byMAC[string(m.MAC)]
	if o, ok := x.byIP[m.IP]; ok && o != old {
		return old, fmt.Errorf("%w: %v already belongs to %v", ErrConflict, m.IP, o.MAC)
	}
	if m.Hostname != "" {
		if o, ok := x.byName[lowerName(m.Hostname)]; ok && o != old {
			return old, fmt.Errorf("%w: hostname %q already belongs to %v", ErrConflict, m.Hostname, o.MAC)
		}
	}
	return old, nil
}

// checkNew is check for a machine read from disk, whose MAC must be new
// too: two directories claiming one MAC is a conflict. x.mu is held.
func (x *index) checkNew(m *Machine) error {
	if o, ok := x.byMAC[string(m.MAC)]; ok {
		return fmt.Errorf("%w: MAC %v already belongs to %v", ErrConflict, m.MAC, o.IP)
	}
	_, err := x.check(m)
	return err
}

// insert puts m into the maps, replacing old. x.mu is held for writing and
// check has passed. The caller counts the change in x.gen.
func (x *index) insert(m *Machine, old *Machine) {
	if old != nil {
		x.remove(old)
	}
	x.byMAC[string(m.MAC)] = m
	x.byIP[m.IP] = m
	if m.Hostname != "" {
		x.byName[lowerName(m.Hostname)] = m
	}
}

// remove takes m out of the maps. x.mu is held for writing.
func (x *index) remove(m *Machine) {
	delete(x.byMAC, string(m.MAC))
	if x.byIP[m.IP] == m {
		delete(x.byIP, m.IP)
	}
	if n := lowerName(m.Hostname); n != "" && x.byName[n] == m {
		delete(x.byName, n)
	}
}

// normalize returns a private deep copy of m fit for the maps.
func normalize(m Machine) (*Machine, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := m.Clone()
	c.IP = c.IP.Unmap()
	c.Server = c.Server.Unmap()
	return &c, nil
}

// Watch implements Store.Watch.
func (x *index) Watch(ctx context.Context) <-chan uint64 {
	ch := make(chan uint64, 1)
	x.watchMu.Lock()
	x.watchers[ch] = struct{}{}
	x.watchMu.Unlock()
	context.AfterFunc(ctx, func() {
		x.watchMu.Lock()
		delete(x.watchers, ch)
		close(ch)
		x.watchMu.Unlock()
	})
	return ch
}

// notify tells every watcher the current generation without blocking.
func (x *index) notify() {
	x.mu.RLock()
	gen := x.gen
	x.mu.RUnlock()
	x.watchMu.Lock()
	defer x.watchMu.Unlock()
	for ch := range x.watchers {
		select { // drop a stale generation the reader has not taken yet
		case <-ch:
		default:
		}
		ch <- gen
	}
}

// Generation returns the number of changes made to the store so far.
func (x *index) Generation() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.gen
}

func lowerName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
