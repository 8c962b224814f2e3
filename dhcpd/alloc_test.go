package dhcpd_test

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dhcpd"
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
		_, ack := dora(t, h, macN(existing+i), nil)
		if ack == nil {
			t.Fatalf("new machine %d: no ACK", i)
		}
		if got, want := ack.YourIPAddr.String(), ip.String(); got != want {
			t.Fatalf("new machine %d got %s, want %s", i, got, want)
		}
		ip = ip.Next()
	}
	// One lookup for the OFFER, one for the REQUEST.
	if n := store.byIP.Load(); n > 2*news {
		t.Errorf("%d lookups by IP for %d new machines on a store of %d", n, news, existing)
	}
	if st := h.Stats(); st.NewMachines != news {
		t.Errorf("stats %+v", st)
	}
}

// TestStoreBehind: while the store holds many writes, the REQUESTs of
// new machines are not taken (they will ask again), and known machines
// are still served.
func TestStoreBehind(t *testing.T) {
	ctx := context.Background()
	mem := memstore.New()
	known := pxelator.Machine{MAC: macN(1 << 20), IP: netip.MustParseAddr("10.77.0.20")}
	if err := mem.Put(ctx, known); err != nil {
		t.Fatal(err)
	}
	store := &gatedStore{Store: mem, gate: make(chan struct{})}
	cfg := testConfig("10.77.0.100", "10.77.250.250")
	cfg.Limit = dhcpd.Limit{Burst: -1}
	h := newHandler(t, store, cfg)
	discoverFrom := func(mac int) []*dhcpv4.DHCPv4 {
		w := &dhcptest.ResponseRecorder{}
		h.ServeDHCP(ctx, w, newReq(t, dhcpv4.MessageTypeDiscover, macN(mac)))
		return w.Replies()
	}
	const n = 5000
	acks := &dhcptest.ResponseRecorder{}
	for i := range n {
		offers := discoverFrom(i)
		if len(offers) != 1 {
			t.Fatalf("DISCOVER %d: %d replies", i, len(offers))
		}
		r, _ := dhcpv4.NewRequestFromOffer(offers[0])
		h.ServeDHCP(ctx, acks, dhcptest.NewRequest(r))
	}
	st := h.Stats()
	taken := n - int(st.Busy)
	if st.Busy == 0 || taken == 0 || len(acks.Replies()) != 0 {
		t.Errorf("%d REQUESTs with every write held: %d taken, %d ACKed already; stats %+v", n, taken, len(acks.Replies()), st)
	}
	if len(discoverFrom(1<<20)) != 1 {
		t.Error("known machine not served while the store is behind")
	}
	close(store.gate)
	if err := h.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if ms, _ := mem.List(ctx); len(ms) != taken+1 || len(acks.Replies()) != taken || h.Stats().NewMachines != uint64(taken) {
		t.Errorf("%d machines stored and %d ACKs, want %d", len(ms), len(acks.Replies()), taken)
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
	nak := serve(r)
	// The offered address went to someone else while the machine was
	// written: the REQUEST is refused, nothing is written, and the client
	// starting over gets the next address.
	if _, err := store.ByMAC(ctx, testMAC); err == nil || offer.YourIPAddr.String() != "10.77.0.100" || nak.MessageType() != dhcpv4.MessageTypeNak {
		t.Errorf("offer %v, answer %v, machine lookup %v", offer.YourIPAddr, nak.MessageType(), err)
	}
	again := serve(d)
	r, _ = dhcpv4.NewRequestFromOffer(again)
	ack := serve(r)
	if m, err := store.ByMAC(ctx, testMAC); err != nil || ack.MessageType() != dhcpv4.MessageTypeAck || m.IP.String() != "10.77.0.101" {
		t.Errorf("second try: offer %v, answer %v, machine %v %v", again.YourIPAddr, ack.MessageType(), m, err)
	}
}
