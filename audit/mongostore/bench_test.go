package mongostore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

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
	if err := audittest.LoadSynthetic(context.Background(), s, 0, b.N, 10000); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
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
		if err := audittest.LoadSynthetic(context.Background(), s, 0, n, 10000); err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d events in %v (%.0f events/s)", n, time.Since(start), float64(n)/time.Since(start).Seconds())
		loaded.s, loaded.n = s, n
	}
	return loaded.s
}

// BenchmarkLastSeen measures "when was this machine last seen" by IP,
// MAC and hostname.
func BenchmarkLastSeen(b *testing.B) {
	s := loadedStore(b)
	n := benchEvents()
	b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) { audittest.BenchLastSeen(b, s, n) })
}

// BenchmarkAvgPerIP measures the average ping round-trip per IP over the
// whole store.
func BenchmarkAvgPerIP(b *testing.B) {
	s := loadedStore(b)
	n := benchEvents()
	b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) { audittest.BenchAvgPerIP(b, s, n) })
}
