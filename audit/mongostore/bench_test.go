package mongostore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/audit/mongostore"
)

// The benchmarks run on FerretDB over SQLite unless PXELATOR_MONGO_URI
// names a real MongoDB.

// BenchmarkInsert measures Store.Insert of documents of one event each,
// in batches of 1000 like the Batcher.
func BenchmarkInsert(b *testing.B) {
	s := open(b, serverURI(b))
	b.ResetTimer()
	load(b, s, 0, b.N)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func load(b *testing.B, s *mongostore.Store, from, to int) {
	const batch = 1000
	events := make([]audit.Event, 0, batch)
	for i := from; i < to; i += batch {
		events = events[:0]
		for j := i; j < min(i+batch, to); j++ {
			events = append(events, audittest.Synthetic(j, 10000))
		}
		if err := s.Insert(context.Background(), audit.Merge(events)); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEvents is the store size of the query benchmarks: 100,000, or
// PXELATOR_BENCH_MONGO_EVENTS.
func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("PXELATOR_BENCH_MONGO_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var loaded struct {
	s *mongostore.Store
	n int
}

func loadedStore(b *testing.B) *mongostore.Store {
	n := benchEvents()
	if loaded.s == nil || loaded.n != n {
		uri := serverURI(b)
		db := fmt.Sprintf("pxelator_bench_%d_%d", os.Getpid(), n)
		s, err := mongostore.Open(context.Background(), uri, &mongostore.Options{Database: db, Logger: quiet(), Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		load(b, s, 0, n)
		b.Logf("loaded %d events in %v (%.0f events/s)", n, time.Since(start), float64(n)/time.Since(start).Seconds())
		loaded.s, loaded.n = s, n
	}
	return loaded.s
}

func BenchmarkLastSeen(b *testing.B) {
	s := loadedStore(b)
	n := benchEvents()
	b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
		ctx := context.Background()
		for i := 0; i < b.N; i++ {
			e := audittest.Synthetic(i*7919%n, 10000)
			machine := [...]string{e.IP.String(), e.MAC.String(), e.Hostname}[i%3]
			if _, err := s.LastSeen(ctx, machine); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkAvgPerIP(b *testing.B) {
	s := loadedStore(b)
	n := benchEvents()
	b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
		ctx := context.Background()
		for i := 0; i < b.N; i++ {
			gs, err := s.Stats(ctx, audit.StatsQuery{Filter: audit.Filter{Package: "ping"}, Field: "rtt", By: []string{"ip"}})
			if err != nil || len(gs) != min(n, 10000) {
				b.Fatalf("%d groups, %v", len(gs), err)
			}
		}
	})
}
