package pxelator_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/pxelatortest"
)

const benchMachines = 100000

// fill puts n machines into s from 16 goroutines.
func fill(b *testing.B, s pxelator.Store, n int) {
	b.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				if err := s.Put(ctx, pxelatortest.NewMachine(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func benchmarkByMAC(b *testing.B, s pxelator.Store) {
	ctx := context.Background()
	macs := make([][]byte, 1024)
	for i := range macs {
		macs[i] = pxelatortest.NewMachine(i * 97 % benchMachines).MAC
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := s.ByMAC(ctx, macs[i%len(macs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkByMAC looks machines up by MAC in a store of 100,000 (the goal:
// under 200 ns and no allocation per lookup).
func BenchmarkByMAC(b *testing.B) {
	b.Run("MemStore", func(b *testing.B) {
		s := pxelator.NewMemStore()
		fill(b, s, benchMachines)
		benchmarkByMAC(b, s)
	})
	b.Run("DirStore", func(b *testing.B) {
		s := openLoaded(b)
		benchmarkByMAC(b, s)
	})
}

// BenchmarkByMACParallel is BenchmarkByMAC from every core at once, as
// the DHCP server's workers look up.
func BenchmarkByMACParallel(b *testing.B) {
	s := pxelator.NewMemStore()
	fill(b, s, benchMachines)
	ctx := context.Background()
	macs := make([][]byte, 1024)
	for i := range macs {
		macs[i] = pxelatortest.NewMachine(i * 97 % benchMachines).MAC
	}
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

// openLoaded returns a DirStore over a directory of 100,000 machines,
// written once per benchmark run.
func openLoaded(b *testing.B) *pxelator.DirStore {
	b.Helper()
	dir := b.TempDir()
	s, err := pxelator.OpenDir(context.Background(), dir, &pxelator.DirOptions{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	fill(b, s, benchMachines)
	return s
}

// BenchmarkOpenDir loads 100,000 machines from disk (the goal: under 2 s),
// watching every directory as the server does.
func BenchmarkOpenDir(b *testing.B) {
	dir := openLoaded(b).Dir()
	b.ResetTimer()
	for b.Loop() {
		s, err := pxelator.OpenDir(context.Background(), dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		if n, _ := s.List(context.Background()); len(n) != benchMachines {
			b.Fatalf("loaded %d machines", len(n))
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkPut writes new machines to disk from 32 goroutines per core, as
// concurrent DHCP leases do; they share the syncs of the journal. The
// time includes writing the machine directories behind the journal.
func BenchmarkPut(b *testing.B) {
	s, err := pxelator.OpenDir(context.Background(), b.TempDir(), &pxelator.DirOptions{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	var next atomicCounter
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Put(ctx, pxelatortest.NewMachine(next.add())); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := s.Flush(ctx); err != nil { // the files too, not only the journal
		b.Fatal(err)
	}
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) add() int { return int(c.n.Add(1)) }
