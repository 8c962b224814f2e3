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
	if err := audittest.Load(context.Background(), s, 0, b.N); err != nil {
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
		if err := audittest.Load(context.Background(), s, 0, n); err != nil {
			b.Fatal(err)
		}
		b.Logf("loaded %d events in %v (%.0f events/s)", n, time.Since(start), float64(n)/time.Since(start).Seconds())
		loaded.s, loaded.n = s, n
	}
	return loaded.s
}

// benchReport runs one of audittest's report benchmarks on the loaded
// store.
func benchReport(b *testing.B, report func(*testing.B, audit.Querier, int)) {
	s := loadedStore(b)
	n := benchEvents()
	b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) { report(b, s, n) })
}

// BenchmarkLastSeen measures "when was this machine last seen" by IP,
// MAC and hostname.
func BenchmarkLastSeen(b *testing.B) { benchReport(b, audittest.BenchLastSeen) }

// BenchmarkHostDay measures "the events of one machine in a day".
func BenchmarkHostDay(b *testing.B) { benchReport(b, audittest.BenchHostDay) }

// BenchmarkCountIPPower measures "AMT power events by IP and state".
func BenchmarkCountIPPower(b *testing.B) { benchReport(b, audittest.BenchCountIPPower) }

// BenchmarkAvgRTT measures "the average ping round-trip per IP".
func BenchmarkAvgRTT(b *testing.B) { benchReport(b, audittest.BenchAvgRTT) }
