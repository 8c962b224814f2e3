package monitor_test

import (
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/sqlitestore"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/monitor"
)

// countingRecorder counts ping replies and passes every event on.
type countingRecorder struct {
	next    audit.Recorder
	replies atomic.Int64
}

func (c *countingRecorder) Record(ctx context.Context, e audit.Event) {
	if e.Package == "ping" {
		c.replies.Add(1)
	}
	audit.Record(ctx, c.next, e)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rssBytes returns the resident set size of this process now.
func rssBytes() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}

// BenchmarkMonitor10k monitors 10,000 addresses of 127.0.0.0/8, which
// all answer, for b.N intervals after one interval of warm-up, and
// reports the CPU seconds one interval costs (all of the process's
// threads), the replies per interval, the goroutines and the resident
// memory at the end. Each operation is one interval: run it with
// -benchtime Nx. The interval is $PXELATOR_BENCH_INTERVAL (default 10s,
// the server's default); the socket $PXELATOR_BENCH_NETWORK (udp4,
// ip4:icmp, or the default choice). The sub-benchmarks record the
// replies nowhere, or through the Batcher into the embedded SQLite store
// as the reference server does.
func BenchmarkMonitor10k(b *testing.B) {
	interval := 10 * time.Second
	if v := os.Getenv("PXELATOR_BENCH_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		interval = d
	}
	for _, backend := range []string{"none", "sqlite"} {
		b.Run("audit="+backend, func(b *testing.B) {
			conn, err := monitor.Listen(os.Getenv("PXELATOR_BENCH_NETWORK"))
			if err != nil {
				b.Skipf("no ICMP socket: %v", err)
			}
			b.Logf("socket %s, interval %v", conn.Network(), interval)
			const n = 10000
			store := memstore.New()
			for i := range n {
				a := netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)})
				if err := store.Put(context.Background(), machine(i, a)); err != nil {
					b.Fatal(err)
				}
			}
			rec := &countingRecorder{}
			var batcher *audit.Batcher
			if backend == "sqlite" {
				st, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "audit.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				batcher = audit.NewBatcher(st, &audit.BatcherOptions{Logger: slog.New(slog.DiscardHandler)})
				rec.next = batcher
			}
			mon := monitor.New(store, &monitor.Options{Interval: interval, Recorder: rec, Logger: slog.New(slog.DiscardHandler)})
			before := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- mon.Run(ctx, conn) }()
			time.Sleep(interval) // warm-up: every machine unknown to up
			goroutines := runtime.NumGoroutine() - before

			b.ResetTimer()
			cpu0, replies0 := cpuTime(), rec.replies.Load()
			time.Sleep(time.Duration(b.N) * interval)
			cpu, replies := cpuTime()-cpu0, rec.replies.Load()-replies0
			b.StopTimer()
			rss := rssBytes()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			cancel()
			<-done
			if batcher != nil {
				batcher.Close(context.Background())
			}
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/interval")
			b.ReportMetric(100*cpu.Seconds()/(float64(b.N)*interval.Seconds()), "cpu-%")
			b.ReportMetric(float64(replies)/float64(b.N), "replies/interval")
			b.ReportMetric(float64(goroutines), "goroutines")
			b.ReportMetric(rss/(1<<20), "rss-MB")
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
		})
	}
}
