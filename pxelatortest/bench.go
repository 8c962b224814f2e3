package pxelatortest

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/pxelator/pxelator"
)

// Fill puts the machines numbered 0 to n-1 (see [NewMachine]) into s from
// 16 goroutines, as concurrent DHCP leases do, and fails tb on an error.
func Fill(tb testing.TB, s pxelator.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				if err := s.Put(ctx, NewMachine(i)); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// MACs returns k hardware addresses of machines numbered below n, spread
// over them, for lookups in a store that [Fill] filled.
func MACs(k, n int) []net.HardwareAddr {
	macs := make([]net.HardwareAddr, k)
	for i := range macs {
		macs[i] = NewMachine(i * 97 % n).MAC
	}
	return macs
}

// BenchByMAC measures lookups by MAC in s, which holds the machines
// numbered below n, and reports allocations.
func BenchByMAC(b *testing.B, s pxelator.Store, n int) {
	ctx := context.Background()
	macs := MACs(1024, n)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.ByMAC(ctx, macs[i%len(macs)]); err != nil {
			b.Fatal(err)
		}
	}
}
