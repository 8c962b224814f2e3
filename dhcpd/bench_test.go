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

func BenchmarkParseRequest(b *testing.B) {
	p := discover(b, dhcptest.IPXEBIOS()...).ToBytes()
	b.SetBytes(int64(len(p)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dhcpd.ParseRequest(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandlerDiscover measures the handler alone: a DISCOVER from a
// new MAC each time (an address held in memory, nothing written) or from
// a known one.
func BenchmarkHandlerDiscover(b *testing.B) {
	for _, known := range []bool{false, true} {
		name := "new"
		if known {
			name = "known"
		}
		b.Run(name, func(b *testing.B) {
			store := memstore.New()
			h, err := dhcpd.NewStoreHandler(store, benchConfig())
			if err != nil {
				b.Fatal(err)
			}
			if known { // the store knows them before the first request
				for n := range 1000 {
					ip := netip.AddrFrom4([4]byte{10, 64, byte(n >> 8), byte(n)}).Next()
					if err := store.Put(context.Background(), pxelator.Machine{MAC: macN(n), IP: ip, Server: serverIP}); err != nil {
						b.Fatal(err)
					}
				}
			}
			w := &discardWriter{}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				n := i
				if known {
					n = i % 1000
				}
				i++
				p, _ := dhcpv4.NewDiscovery(macN(n), dhcptest.IPXEBIOS()...)
				h.ServeDHCP(context.Background(), w, dhcptest.NewRequest(p))
			}
			if w.n.Load() != int64(b.N) {
				b.Fatalf("%d replies for %d requests", w.n.Load(), b.N)
			}
		})
	}
}

// BenchmarkHandlerNewMachine measures the handler alone taking new
// machines: a DISCOVER and a REQUEST from a new MAC each time, the
// REQUEST writing the machine to a memstore before its ACK.
func BenchmarkHandlerNewMachine(b *testing.B) {
	h, err := dhcpd.NewStoreHandler(memstore.New(), benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	w := &discardWriter{}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		p, _ := dhcpv4.NewDiscovery(macN(i), dhcptest.IPXEBIOS()...)
		offer := &dhcptest.ResponseRecorder{}
		h.ServeDHCP(context.Background(), offer, dhcptest.NewRequest(p))
		r, _ := dhcpv4.NewRequestFromOffer(offer.Replies()[0])
		h.ServeDHCP(context.Background(), w, dhcptest.NewRequest(r))
	}
	if err := h.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	// A new machine is not answered while the store is behind (Busy):
	// the loop outruns the goroutines writing the new machines.
	if busy := h.Stats().Busy; w.n.Load()+int64(busy) != int64(b.N) {
		b.Fatalf("%d ACKs and %d busy for %d requests", w.n.Load(), busy, b.N)
	}
	b.ReportMetric(float64(h.Stats().Busy)/float64(b.N), "busy/op")
}

// benchConfig is a large range without a limit on new machines.
func benchConfig() dhcpd.Config {
	cfg := testConfig("10.77.0.1", "10.77.255.254")
	cfg.First = netip.MustParseAddr("10.64.0.1")
	cfg.Subnet = netip.MustParsePrefix("10.64.0.0/10")
	cfg.Limit = dhcpd.Limit{Burst: -1}
	return cfg
}

type discardWriter struct{ n atomic.Int64 }

func (w *discardWriter) Write(ctx context.Context, r *dhcpv4.DHCPv4) error {
	r.ToBytes()
	w.n.Add(1)
	return nil
}

// BenchmarkDORA measures full exchanges through a server on loopback, from
// parallel clients with distinct MACs; it reports exchanges per second.
func BenchmarkDORA(b *testing.B) {
	h, err := dhcpd.NewStoreHandler(memstore.New(), benchConfig())
	if err != nil {
		b.Fatal(err)
	}
	srv := &dhcpd.Server{Handler: h}
	addr := serveB(b, srv)
	var next atomic.Int64
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		c, err := dhcptest.NewClient(addr, nil)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		for pb.Next() {
			c.MAC = macN(int(next.Add(1)))
			if _, _, err := c.DORA(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "DORA/s")
}
