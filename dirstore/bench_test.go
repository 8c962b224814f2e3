package dirstore_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/pxelator/pxelator/dirstore"
	"github.com/pxelator/pxelator/pxelatortest"
)

const benchMachines = 100000

// BenchmarkByMAC looks machines up by MAC in a store of 100,000 (the goal:
// under 200 ns and no allocation per lookup).
func BenchmarkByMAC(b *testing.B) {
	pxelatortest.BenchByMAC(b, openLoaded(b), benchMachines)
}

// openLoaded returns a Store over a directory of 100,000 machines,
// written once per benchmark run.
func openLoaded(b *testing.B) *dirstore.Store {
	b.Helper()
	dir := b.TempDir()
	s, err := dirstore.Open(context.Background(), dir, &dirstore.Options{NoWatch: true})
	if err != nil {
		b.Fatal(err)
	}
	pxelatortest.Fill(b, s, benchMachines)
	return s
}

// BenchmarkOpen loads 100,000 machines from disk (the goal: under 2 s),
// watching every directory as the server does.
func BenchmarkOpen(b *testing.B) {
	dir := openLoaded(b).Dir()
	b.ResetTimer()
	for b.Loop() {
		s, err := dirstore.Open(context.Background(), dir, nil)
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
	s, err := dirstore.Open(context.Background(), b.TempDir(), &dirstore.Options{NoWatch: true})
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
