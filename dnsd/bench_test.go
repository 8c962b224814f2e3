package dnsd_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/dnsd/dnstest"
	"github.com/pxelator/pxelator/memstore"
)

// benchHandler returns a StoreHandler over a store of n machines named
// host-<i> at 10.1.<i/256>.<i%256>.
func benchHandler(b *testing.B, n int) *dnsd.StoreHandler {
	store := memstore.New()
	for i := range n {
		m := pxelator.Machine{
			MAC:      net.HardwareAddr{0x52, 0x54, 0, 1, byte(i >> 8), byte(i)},
			IP:       netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}),
			Hostname: fmt.Sprintf("host-%d", i),
		}
		if err := store.Put(context.Background(), m); err != nil {
			b.Fatal(err)
		}
	}
	h, err := dnsd.NewStoreHandler(dnsd.Config{
		Zone: "pxe", Store: store,
		Networks: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	return h
}

func benchQueries(n int) []*dns.Msg {
	var qs []*dns.Msg
	for i := range n {
		qs = append(qs, new(dns.Msg).SetQuestion(fmt.Sprintf("host-%d.pxe.", i), dns.TypeA))
		qs = append(qs, new(dns.Msg).SetQuestion(fmt.Sprintf("%d.%d.1.10.in-addr.arpa.", i%256, i/256), dns.TypePTR))
	}
	return qs
}

// BenchmarkServeDNS measures the Handler alone, A and PTR queries mixed
// over 10,000 machines.
func BenchmarkServeDNS(b *testing.B) {
	h := benchHandler(b, 10000)
	qs := benchQueries(10000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &writer{remote: udpClient}
		i := 0
		for pb.Next() {
			h.ServeDNS(w, qs[i%len(qs)])
			if len(w.reply.Answer) != 1 {
				b.Fatalf("%v", w.reply)
			}
			i++
		}
	})
}

// BenchmarkUDP measures queries over loopback UDP through the Server.
func BenchmarkUDP(b *testing.B) {
	h := benchHandler(b, 10000)
	qs := benchQueries(10000)
	srv := dnstest.NewServer(h)
	defer srv.Close()
	b.RunParallel(func(pb *testing.PB) {
		c := &dns.Client{Timeout: 10 * time.Second}
		conn, err := c.Dial(srv.Addr)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		i := 0
		for pb.Next() {
			r, _, err := c.ExchangeWithConn(qs[i%len(qs)], conn)
			if err != nil || len(r.Answer) != 1 {
				b.Fatalf("%v %v", r, err)
			}
			i++
		}
	})
}
