package dhcpd_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dhcpd/dhcptest"
	"github.com/pxelator/pxelator/memstore"
)

// countingStore counts the lookups by IP the allocator makes.
type countingStore struct {
	pxelator.Store
	byIP atomic.Int64
}

func (s *countingStore) ByIP(ctx context.Context, ip netip.Addr) (pxelator.Machine, error) {
	s.byIP.Add(1)
	return s.Store.ByIP(ctx, ip)
}

// TestAllocationDoesNotScan: on a store with many machines, a new machine
// costs a few lookups, not a walk over the machines in the range.
func TestAllocationDoesNotScan(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	const existing = 20000
	ip := netip.MustParseAddr("10.77.0.100")
	for i := range existing {
		if err := mem.Put(ctx, pxelator.Machine{MAC: macN(i), IP: ip}); err != nil {
			t.Fatal(err)
		}
		ip = ip.Next()
	}
	// A hole in the middle is found when the cursor wraps, not before.
	if err := mem.Delete(ctx, macN(10)); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: mem}
	h := newHandler(t, store, testConfig("10.77.0.100", "10.77.250.250"))
	const news = 100
	for i := range news {
		p, _ := dhcpv4.NewDiscovery(macN(existing+i), dhcptest.IPXEBIOS()...)
		w := &dhcptest.ResponseRecorder{}
		h.ServeDHCP(ctx, w, dhcptest.NewRequest(p))
		if len(w.Replies()) != 1 {
			t.Fatalf("new machine %d: no offer", i)
		}
		if got, want := w.Replies()[0].YourIPAddr.String(), ip.String(); got != want {
			t.Fatalf("new machine %d got %s, want %s", i, got, want)
		}
		ip = ip.Next()
	}
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := store.byIP.Load(); n > 2*news {
		t.Errorf("%d lookups by IP for %d new machines on a store of %d", n, news, existing)
	}
	if st := h.Stats(); st.NewMachines != news {
		t.Errorf("stats %+v", st)
	}
}

// TestStoreBehind: while the store holds many writes, new MACs are not
// offered (they will ask again) and known machines are still served.
func TestStoreBehind(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	known := pxelator.Machine{MAC: macN(1 << 20), IP: netip.MustParseAddr("10.77.0.20")}
	if err := mem.Put(ctx, known); err != nil {
		t.Fatal(err)
	}
	store := &gatedStore{Store: mem, gate: make(chan struct{})}
	h := newHandler(t, store, testConfig("10.77.0.100", "10.77.250.250"))
	discoverFrom := func(mac int) int {
		p, _ := dhcpv4.NewDiscovery(macN(mac))
		w := &dhcptest.ResponseRecorder{}
		h.ServeDHCP(ctx, w, dhcptest.NewRequest(p))
		return len(w.Replies())
	}
	offered := 0
	for i := range 5000 {
		offered += discoverFrom(i)
	}
	if st := h.Stats(); offered == 5000 || st.Busy != uint64(5000-offered) || st.NewMachines != uint64(offered) {
		t.Errorf("%d of 5000 offered with every write held; stats %+v", offered, st)
	}
	if discoverFrom(1<<20) != 1 {
		t.Error("known machine not served while the store is behind")
	}
	close(store.gate)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ms, _ := mem.List(ctx); len(ms) != offered+1 {
		t.Errorf("%d machines stored, want %d", len(ms), offered+1)
	}
}

// conflictStore refuses the first Put, as when a person takes the address
// by hand between the reservation and the write.
type conflictStore struct {
	pxelator.Store
	refused atomic.Bool
}

func (s *conflictStore) Put(ctx context.Context, m pxelator.Machine) error {
	if s.refused.CompareAndSwap(false, true) {
		return pxelator.ErrConflict
	}
	return s.Store.Put(ctx, m)
}

func TestAddressTakenDuringWrite(t *testing.T) {
	ctx := context.Background()
	store := &conflictStore{Store: memstore.New()}
	h := newHandler(t, store, testConfig("10.77.0.100", "10.77.0.200"))
	serve := func(p *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
		w := &dhcptest.ResponseRecorder{}
		h.ServeDHCP(ctx, w, dhcptest.NewRequest(p))
		if err := h.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if len(w.Replies()) != 1 {
			t.Fatalf("%d replies to %v", len(w.Replies()), p.MessageType())
		}
		return w.Replies()[0]
	}
	d, _ := dhcpv4.NewDiscovery(testMAC)
	offer := serve(d)
	r, _ := dhcpv4.NewRequestFromOffer(offer)
	ack := serve(r)
	m, err := store.ByMAC(ctx, testMAC)
	if err != nil {
		t.Fatal(err)
	}
	// The offered address went to someone else: the REQUEST for it is
	// refused, and the machine's own address is the next one.
	if offer.YourIPAddr.String() != "10.77.0.100" || ack.MessageType() != dhcpv4.MessageTypeNak || m.IP.String() != "10.77.0.101" {
		t.Errorf("offer %v, answer %v, machine %v", offer.YourIPAddr, ack.MessageType(), m)
	}
	if again := serve(d); again.YourIPAddr.String() != "10.77.0.101" {
		t.Errorf("second offer %v", again.YourIPAddr)
	}
}
