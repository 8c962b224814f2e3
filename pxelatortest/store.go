// Package pxelatortest provides the conformance suite that every
// [pxelator.Store] passes, and helpers for tests of code that uses a store.
package pxelatortest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
)

// Server returns the server address the suite's machines are put under,
// 10.77.0.1.
func Server() netip.Addr { return netip.AddrFrom4([4]byte{10, 77, 0, 1}) }

// NewMachine returns a valid machine numbered i: MAC 52:54:00:xx:xx:xx and
// IP 10.77.x.y (10.78.x.y past 65535, and so on) on segment [Server],
// with hostname host-<i>.
func NewMachine(i int) pxelator.Machine {
	return pxelator.Machine{
		MAC:      net.HardwareAddr{0x52, 0x54, 0, byte(i >> 16), byte(i >> 8), byte(i)},
		IP:       netip.AddrFrom4([4]byte{10, byte(77 + i>>16), byte(i >> 8), byte(i)}),
		Server:   Server(),
		Hostname: fmt.Sprintf("host-%d", i),
	}
}

// TestStore runs the conformance suite against stores made by open, which
// returns a new, empty store for each subtest.
func TestStore(t *testing.T, open func(t *testing.T) pxelator.Store) {
	t.Run("PutGetListDelete", func(t *testing.T) { testPutGet(t, open(t)) })
	t.Run("Conflicts", func(t *testing.T) { testConflicts(t, open(t)) })
	t.Run("Rename", func(t *testing.T) { testRename(t, open(t)) })
	t.Run("Invalid", func(t *testing.T) { testInvalid(t, open(t)) })
	t.Run("Attributes", func(t *testing.T) { testAttributes(t, open(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("RaceForOneIP", func(t *testing.T) { testRaceForIP(t, open(t)) })
	t.Run("Watch", func(t *testing.T) { testWatch(t, open(t)) })
}

// Check fails t unless the store finds m by MAC, IP and host name, with
// the same values.
func Check(t testing.TB, s pxelator.Store, m pxelator.Machine) {
	t.Helper()
	ctx := context.Background()
	got, err := s.ByMAC(ctx, m.MAC)
	if err != nil || !got.Equal(m) {
		t.Fatalf("ByMAC(%v) = %v, %v; want %v", m.MAC, got, err, m)
	}
	if got, err := s.ByIP(ctx, m.IP); err != nil || !got.Equal(m) {
		t.Fatalf("ByIP(%v) = %v, %v; want %v", m.IP, got, err, m)
	}
	if m.Hostname != "" {
		if got, err := s.ByHostname(ctx, m.Hostname); err != nil || !got.Equal(m) {
			t.Fatalf("ByHostname(%q) = %v, %v; want %v", m.Hostname, got, err, m)
		}
	}
}

func mustPut(t testing.TB, s pxelator.Store, m pxelator.Machine) {
	t.Helper()
	if err := s.Put(context.Background(), m); err != nil {
		t.Fatalf("Put(%v): %v", m, err)
	}
}

func testPutGet(t *testing.T, s pxelator.Store) {
	ctx := context.Background()
	if _, err := s.ByMAC(ctx, NewMachine(1).MAC); !errors.Is(err, pxelator.ErrNotFound) {
		t.Fatalf("ByMAC on empty store: err = %v, want ErrNotFound", err)
	}
	for i := 3; i >= 1; i-- {
		mustPut(t, s, NewMachine(i))
	}
	for i := 1; i <= 3; i++ {
		Check(t, s, NewMachine(i))
	}
	if m, err := s.ByHostname(ctx, "HOST-2"); err != nil || m.IP != NewMachine(2).IP {
		t.Errorf("ByHostname is not case-insensitive: %v, %v", m, err)
	}
	list, err := s.List(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("List = %d machines, %v; want 3", len(list), err)
	}
	for i, m := range list {
		if !m.Equal(NewMachine(i + 1)) {
			t.Errorf("List[%d] = %v, want %v (ordered by IP)", i, m, NewMachine(i+1))
		}
	}
	// Putting the same machine again changes nothing.
	mustPut(t, s, NewMachine(2))
	if err := s.Delete(ctx, NewMachine(2).MAC); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := s.Delete(ctx, NewMachine(2).MAC); !errors.Is(err, pxelator.ErrNotFound) {
		t.Errorf("second Delete: err = %v, want ErrNotFound", err)
	}
	m2 := NewMachine(2)
	for name, err := range map[string]error{
		"mac":      second(s.ByMAC(ctx, m2.MAC)),
		"ip":       second(s.ByIP(ctx, m2.IP)),
		"hostname": second(s.ByHostname(ctx, m2.Hostname)),
	} {
		if !errors.Is(err, pxelator.ErrNotFound) {
			t.Errorf("lookup by %s after Delete: err = %v, want ErrNotFound", name, err)
		}
	}
	Check(t, s, NewMachine(1))
	Check(t, s, NewMachine(3))
}

func second[T any](_ T, err error) error { return err }

func testConflicts(t *testing.T, s pxelator.Store) {
	ctx := context.Background()
	a, b := NewMachine(1), NewMachine(2)
	mustPut(t, s, a)
	mustPut(t, s, b)
	sameIP := b
	sameIP.IP = a.IP
	sameName := b
	sameName.Hostname = "HOST-1"
	for name, m := range map[string]pxelator.Machine{"ip": sameIP, "hostname": sameName} {
		if err := s.Put(ctx, m); !errors.Is(err, pxelator.ErrConflict) {
			t.Errorf("Put taking another machine's %s: err = %v, want ErrConflict", name, err)
		}
	}
	Check(t, s, a)
	Check(t, s, b)
}

func testRename(t *testing.T, s pxelator.Store) {
	ctx := context.Background()
	m := NewMachine(7)
	mustPut(t, s, m)
	m.Hostname = "kiosk-07"
	mustPut(t, s, m)
	Check(t, s, m)
	if _, err := s.ByHostname(ctx, "host-7"); !errors.Is(err, pxelator.ErrNotFound) {
		t.Errorf("old hostname still found after rename: %v", err)
	}
	oldIP := m.IP
	m.IP = netip.MustParseAddr("10.77.200.7")
	mustPut(t, s, m)
	Check(t, s, m)
	if _, err := s.ByIP(ctx, oldIP); !errors.Is(err, pxelator.ErrNotFound) {
		t.Errorf("old IP still found after a move: %v", err)
	}
	// The freed address and name can be taken by another machine.
	o := NewMachine(8)
	o.IP, o.Hostname = oldIP, "host-7"
	mustPut(t, s, o)
	Check(t, s, o)
	if list, _ := s.List(ctx); len(list) != 2 {
		t.Errorf("List after renames = %d machines, want 2", len(list))
	}
}

func testInvalid(t *testing.T, s pxelator.Store) {
	ctx := context.Background()
	for name, edit := range map[string]func(*pxelator.Machine){
		"no MAC":             func(m *pxelator.Machine) { m.MAC = nil },
		"short MAC":          func(m *pxelator.Machine) { m.MAC = m.MAC[:3] },
		"MAC set as garbage": func(m *pxelator.Machine) { m.Set(pxelator.AttrMAC, "52:54:zz") },
		"no IP":              func(m *pxelator.Machine) { m.IP = netip.Addr{} },
		"IPv6":               func(m *pxelator.Machine) { m.IP = netip.MustParseAddr("fd00::1") },
		"bad hostname":       func(m *pxelator.Machine) { m.Hostname = "a b" },
		"path key":           func(m *pxelator.Machine) { m.Set("../escape", "x") },
		"dot key":            func(m *pxelator.Machine) { m.Set(".hidden", "x") },
		"two lines":          func(m *pxelator.Machine) { m.Set("note", "a\nb") },
		"bad profile":        func(m *pxelator.Machine) { m.Profile = "../../etc" },
	} {
		m := NewMachine(1)
		edit(&m)
		if err := s.Put(ctx, m); err == nil {
			t.Errorf("Put of a machine with %s: no error", name)
		}
	}
	if list, _ := s.List(ctx); len(list) != 0 {
		t.Errorf("invalid machines were stored: %v", list)
	}
}

func testAttributes(t *testing.T, s pxelator.Store) {
	ctx := context.Background()
	m := NewMachine(1)
	m.Profile = "debian"
	m.Set("amt.address", "10.77.1.1")
	m.SetSecret("amt.password", "hunter2")
	mustPut(t, s, m)
	got, err := s.ByMAC(ctx, m.MAC)
	if err != nil {
		t.Fatal(err)
	}
	if a, ok := got.Attr("amt.password"); !ok || !a.Secret || a.Value != "hunter2" {
		t.Errorf("secret attribute = %+v, %v", a, ok)
	}
	if got.Get("amt.address") != "10.77.1.1" || got.Profile != "debian" {
		t.Errorf("attributes lost: %v", got)
	}
	// Changing a returned machine does not change the store.
	got.Set("amt.address", "changed")
	if again, _ := s.ByMAC(ctx, m.MAC); again.Get("amt.address") != "10.77.1.1" {
		t.Errorf("store changed through a returned machine")
	}
	// Removing an attribute.
	m.Set("amt.address", "")
	mustPut(t, s, m)
	if again, _ := s.ByMAC(ctx, m.MAC); again.Get("amt.address") != "" {
		t.Errorf("attribute not removed: %v", again)
	}
}

func testConcurrent(t *testing.T, s pxelator.Store) {
	ctx := context.Background()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i := range writers * each {
					m := NewMachine(i)
					if got, err := s.ByMAC(ctx, m.MAC); err == nil && got.IP != m.IP && got.IP.As4()[2] != 200 {
						t.Errorf("reader saw %v with a foreign IP", got)
						return
					}
				}
			}
		})
	}
	for w := range writers {
		wg.Go(func() {
			for i := w * each; i < (w+1)*each; i++ {
				m := NewMachine(i)
				if err := s.Put(ctx, m); err != nil {
					t.Errorf("Put: %v", err)
					return
				}
				if i%5 == 0 { // move every fifth machine and rename it
					m.IP = netip.AddrFrom4([4]byte{10, 77, 200, byte(i)})
					m.Hostname = fmt.Sprintf("moved-%d", i)
					if err := s.Put(ctx, m); err != nil {
						t.Errorf("Put (move): %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	list, err := s.List(ctx)
	if err != nil || len(list) != writers*each {
		t.Fatalf("List = %d, %v; want %d", len(list), err, writers*each)
	}
	for i := range writers * each {
		m := NewMachine(i)
		if i%5 == 0 {
			m.IP = netip.AddrFrom4([4]byte{10, 77, 200, byte(i)})
			m.Hostname = fmt.Sprintf("moved-%d", i)
		}
		Check(t, s, m)
	}
}

func testRaceForIP(t *testing.T, s pxelator.Store) {
	ctx := context.Background()
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			m := NewMachine(100 + i)
			m.IP = netip.MustParseAddr("10.77.9.9")
			errs <- s.Put(ctx, m)
		}()
	}
	won := 0
	for range n {
		err := <-errs
		switch {
		case err == nil:
			won++
		case !errors.Is(err, pxelator.ErrConflict):
			t.Errorf("losing Put: err = %v, want ErrConflict", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d machines got one address, want exactly 1", won)
	}
	if list, _ := s.List(ctx); len(list) != 1 {
		t.Errorf("List = %v, want one machine", list)
	}
}

func testWatch(t *testing.T, s pxelator.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := s.Watch(ctx)
	mustPut(t, s, NewMachine(1))
	var first uint64
	select {
	case first = <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no generation after Put")
	}
	mustPut(t, s, NewMachine(2))
	mustPut(t, s, NewMachine(3))
	deadline := time.After(10 * time.Second)
	for g := first; ; {
		select {
		case g2 := <-ch:
			if g2 <= g {
				t.Fatalf("generation went from %d to %d", g, g2)
			}
			g = g2
		case <-deadline:
			t.Fatal("no generation after the second and third Put")
		}
		if g >= first+2 {
			break
		}
	}
	cancel()
	for range ch { // closed once ctx is done
	}
}
