// Package index holds what every store of the module keeps in memory:
// machines by MAC, by IP and by lower-case host name, a generation that
// counts the changes, and the watchers told of them. memstore is an
// index; dirstore is an index mirrored to files.
package index

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/pxelator/pxelator"
)

// Index answers the lookups of a [pxelator.Store] from memory. A store
// embeds it for ByMAC, ByIP, ByHostname, List, Watch and Len, and changes
// it through the [Writer] that [New] returns with it.
type Index struct {
	mu     sync.RWMutex
	byMAC  map[string]*pxelator.Machine
	byIP   map[netip.Addr]*pxelator.Machine
	byName map[string]*pxelator.Machine // lower-case host name
	gen    uint64
	dirty  bool // a change was counted since Lock

	watchMu  sync.Mutex
	watchers map[chan uint64]struct{}
}

// Writer changes an [Index]. It is apart from the Index so that a store
// that embeds the Index offers its lookups and nothing more.
//
// A change is made between Lock and Unlock: Check, Insert, Remove and
// Changed, which counts it; Unlock then tells the watchers. The lookups
// of the Writer (MAC, IP, Machines) need the lock or the read lock held.
type Writer struct{ x *Index }

// New returns an empty index and its writer.
func New() (*Index, *Writer) {
	x := &Index{watchers: make(map[chan uint64]struct{})}
	x.clear(0)
	return x, &Writer{x}
}

func (x *Index) clear(n int) {
	x.byMAC = make(map[string]*pxelator.Machine, n)
	x.byIP = make(map[netip.Addr]*pxelator.Machine, n)
	x.byName = make(map[string]*pxelator.Machine, n)
}

// ByMAC implements [pxelator.Store.ByMAC] without allocating.
func (x *Index) ByMAC(ctx context.Context, mac net.HardwareAddr) (pxelator.Machine, error) {
	x.mu.RLock()
	m, ok := x.byMAC[string(mac)]
	x.mu.RUnlock()
	if !ok {
		return pxelator.Machine{}, pxelator.ErrNotFound
	}
	return *m, nil
}

// ByIP implements [pxelator.Store.ByIP].
func (x *Index) ByIP(ctx context.Context, ip netip.Addr) (pxelator.Machine, error) {
	x.mu.RLock()
	m, ok := x.byIP[ip.Unmap()]
	x.mu.RUnlock()
	if !ok {
		return pxelator.Machine{}, pxelator.ErrNotFound
	}
	return *m, nil
}

// ByHostname implements [pxelator.Store.ByHostname].
func (x *Index) ByHostname(ctx context.Context, name string) (pxelator.Machine, error) {
	x.mu.RLock()
	m, ok := x.byName[LowerName(name)]
	x.mu.RUnlock()
	if !ok {
		return pxelator.Machine{}, pxelator.ErrNotFound
	}
	return *m, nil
}

// List implements [pxelator.Store.List].
func (x *Index) List(ctx context.Context) ([]pxelator.Machine, error) {
	x.mu.RLock()
	ms := make([]pxelator.Machine, 0, len(x.byMAC))
	for _, m := range x.byMAC {
		ms = append(ms, *m)
	}
	x.mu.RUnlock()
	slices.SortFunc(ms, func(a, b pxelator.Machine) int {
		return cmp.Or(a.Server.Compare(b.Server), a.IP.Compare(b.IP))
	})
	return ms, nil
}

// Len returns the number of machines in the store.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.byMAC)
}

// Watch implements [pxelator.Store.Watch].
func (x *Index) Watch(ctx context.Context) <-chan uint64 {
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
func (x *Index) notify() {
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

// Lock locks the index for a change.
func (w *Writer) Lock() { w.x.mu.Lock() }

// Unlock unlocks the index and, when Changed was called since Lock, tells
// the watchers the new generation.
func (w *Writer) Unlock() {
	x := w.x
	dirty := x.dirty
	x.dirty = false
	x.mu.Unlock()
	if dirty {
		x.notify()
	}
}

// RLock locks the index for reading.
func (w *Writer) RLock() { w.x.mu.RLock() }

// RUnlock undoes RLock.
func (w *Writer) RUnlock() { w.x.mu.RUnlock() }

// MAC returns the machine with the hardware address mac, or nil.
func (w *Writer) MAC(mac net.HardwareAddr) *pxelator.Machine { return w.x.byMAC[string(mac)] }

// IP returns the machine with the address ip, or nil.
func (w *Writer) IP(ip netip.Addr) *pxelator.Machine { return w.x.byIP[ip] }

// Machines returns an iterator over the machines, in no order.
func (w *Writer) Machines() iter.Seq[*pxelator.Machine] {
	return func(yield func(*pxelator.Machine) bool) {
		for _, m := range w.x.byMAC {
			if !yield(m) {
				return
			}
		}
	}
}

// Check reports whether m can be put without taking another machine's IP
// or host name, and returns the machine m replaces, if any.
func (w *Writer) Check(m *pxelator.Machine) (old *pxelator.Machine, err error) {
	x := w.x
	old = x.byMAC[string(m.MAC)]
	if o, ok := x.byIP[m.IP]; ok && o != old {
		return old, fmt.Errorf("%w: %v already belongs to %v", pxelator.ErrConflict, m.IP, o.MAC)
	}
	if m.Hostname != "" {
		if o, ok := x.byName[LowerName(m.Hostname)]; ok && o != old {
			return old, fmt.Errorf("%w: hostname %q already belongs to %v", pxelator.ErrConflict, m.Hostname, o.MAC)
		}
	}
	return old, nil
}

// CheckNew is Check for a machine whose MAC must be new too, such as one
// read from disk: two directories claiming one MAC are a conflict.
func (w *Writer) CheckNew(m *pxelator.Machine) error {
	if o, ok := w.x.byMAC[string(m.MAC)]; ok {
		return fmt.Errorf("%w: MAC %v already belongs to %v", pxelator.ErrConflict, m.MAC, o.IP)
	}
	_, err := w.Check(m)
	return err
}

// Insert puts m, which [Normalize] returned and Check passed, into the
// index in place of old (which may be nil). The lock is held.
func (w *Writer) Insert(m, old *pxelator.Machine) {
	if old != nil {
		w.Remove(old)
	}
	x := w.x
	x.byMAC[string(m.MAC)] = m
	x.byIP[m.IP] = m
	if m.Hostname != "" {
		x.byName[LowerName(m.Hostname)] = m
	}
}

// Remove takes m out of the index. The lock is held.
func (w *Writer) Remove(m *pxelator.Machine) {
	x := w.x
	delete(x.byMAC, string(m.MAC))
	if x.byIP[m.IP] == m {
		delete(x.byIP, m.IP)
	}
	if n := LowerName(m.Hostname); n != "" && x.byName[n] == m {
		delete(x.byName, n)
	}
}

// Reset empties the index, with room for n machines, and returns the
// machines it held by MAC (the string of its bytes). The lock is held.
func (w *Writer) Reset(n int) map[string]*pxelator.Machine {
	old := w.x.byMAC
	w.x.clear(n)
	return old
}

// Changed counts a change in the generation. The lock is held.
func (w *Writer) Changed() {
	w.x.gen++
	w.x.dirty = true
}

// Normalize returns a private deep copy of m fit for an index, or what
// makes m unfit for a store.
func Normalize(m pxelator.Machine) (*pxelator.Machine, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := m.Clone()
	c.IP = c.IP.Unmap()
	c.Server = c.Server.Unmap()
	return &c, nil
}

// LowerName returns the host name s in lower case, the key it is indexed
// by, without allocating when it is in lower case already.
func LowerName(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}
