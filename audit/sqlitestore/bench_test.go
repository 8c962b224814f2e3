package sqlitestore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/audit/sqlitestore"
)

// BenchmarkInsert measures Store.Insert of the mixed load's documents of
// one event each (the worst case: nothing merges), in batches of 1000.
func BenchmarkInsert(b *testing.B) {
	s := open(b)
	b.ResetTimer()
	if err := audittest.Load(context.Background(), s, 0, b.N); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkRecorder measures events of the mixed load through the
// recorder (audit.Batcher) into the store, end to end: b.N events
// recorded and stored. burst is how many events one machine sends in one
// second in one package (a booting kernel logs 100 lines in a second; a
// ping, one): the Batcher merges them into one document.
//
// In a new store, the first events of each machine and package make its
// signature; with known=true the store has seen every machine's
// signatures before the timed events (ten rounds of the load: 100,000
// events), as a server that has been running has.
func BenchmarkRecorder(b *testing.B) {
	for _, bc := range []struct {
		burst int
		known bool
	}{{1, false}, {10, false}, {100, false}, {1, true}} {
		name := "burst=" + strconv.Itoa(bc.burst)
		if bc.known {
			name += "/known=true"
		}
		burst := bc.burst
		b.Run(name, func(b *testing.B) {
			s := open(b)
			ctx := context.Background()
			first := 0
			if bc.known {
				first = 10 * audittest.MixedMachines
				if err := audittest.Load(ctx, s, 0, first); err != nil {
					b.Fatal(err)
				}
			}
			rec := audit.NewBatcher(s, &audit.BatcherOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			const chunk = 1 << 15 // under the queue's 65536
			stopCPU := reportCPU(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e := audittest.Mixed(first + i/burst)
				e.Time = e.Time.Add(time.Duration(i%burst) * time.Millisecond)
				rec.Record(ctx, e)
				if i%chunk == chunk-1 {
					if err := rec.Flush(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := rec.Close(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			stopCPU()
			st := rec.Stats()
			if st.DroppedQueue+st.DroppedPending > 0 {
				b.Fatalf("dropped: %+v", st)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(st.Inserted), "documents")
		})
	}
}

// loadedStore returns a store holding the mixed load's first n events
// (audittest.Mixed), kept between runs in PXELATOR_BENCH_DIR (default:
// the system's temporary directory) because 10M events take minutes to
// load.
func loadedStore(b *testing.B, n int) *sqlitestore.Store {
	b.Helper()
	dir := os.Getenv("PXELATOR_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("pxelator-audit-mixed-%d.db", n))
	ctx := context.Background()
	if _, err := os.Stat(path + ".done"); err != nil {
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
		start := time.Now()
		if err := sqlitestore.BulkLoad(ctx, path, n, audittest.Mixed); err != nil {
			b.Fatal(err)
		}
		rows := time.Since(start)
		s, err := sqlitestore.Open(ctx, path) // builds the indexes
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
		st, _ := os.Stat(path)
		b.Logf("loaded %d events in %v (%.0f events/s; rows %v, then indexes); %d MB", n, time.Since(start).Round(time.Second),
			float64(n)/time.Since(start).Seconds(), rows.Round(time.Second), st.Size()>>20)
		os.WriteFile(path+".done", nil, 0o644)
	}
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// benchSizes are the store sizes of the query benchmarks: 1M, or the
// comma-separated list in PXELATOR_BENCH_EVENTS.
func benchSizes(b *testing.B) []int {
	env := os.Getenv("PXELATOR_BENCH_EVENTS")
	if env == "" {
		return []int{1_000_000}
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("PXELATOR_BENCH_EVENTS=%q: want a list of counts", env)
		}
		out = append(out, n)
	}
	return out
}

// benchReport runs one of audittest's report benchmarks on each store
// size.
func benchReport(b *testing.B, report func(*testing.B, audit.Querier, int)) {
	for _, n := range benchSizes(b) {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			s := loadedStore(b, n)
			defer reportCPU(b)()
			b.ResetTimer()
			report(b, s, n)
		})
	}
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

// reportCPU reports the CPU time per operation (user and system, all
// threads) beside the wall time: on a loaded machine the wall time says
// more about the neighbours than about the query. Call the function it
// returns at the end of the benchmark.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64((cpu()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}
