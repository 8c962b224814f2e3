package memstore_test

import (
	"context"
	"testing"

	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/pxelatortest"
)

const benchMachines = 100000

// BenchmarkByMAC looks machines up by MAC in a store of 100,000 (the goal:
// under 200 ns and no allocation per lookup).
func BenchmarkByMAC(b *testing.B) {
	s := memstore.New()
	pxelatortest.Fill(b, s, benchMachines)
	pxelatortest.BenchByMAC(b, s, benchMachines)
}

// BenchmarkByMACParallel is BenchmarkByMAC from every core at once, as
// the DHCP server's workers look up.
func BenchmarkByMACParallel(b *testing.B) {
	s := memstore.New()
	pxelatortest.Fill(b, s, benchMachines)
	ctx := context.Background()
	macs := pxelatortest.MACs(1024, benchMachines)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			if _, err := s.ByMAC(ctx, macs[i%len(macs)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
