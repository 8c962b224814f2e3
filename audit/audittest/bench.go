package audittest

import (
	"context"
	"testing"

	"github.com/pxelator/pxelator/audit"
)

// The query benchmarks every backend runs, on a store that holds the
// events Synthetic(i, 10000) for i < n (see [LoadSynthetic]). The caller
// loads the store and resets the timer.

// BenchLastSeen runs b.N LastSeen queries: "when was this machine last
// seen", by IP, MAC and hostname in turn.
func BenchLastSeen(b *testing.B, q audit.Querier, n int) {
	b.Helper()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		e := Synthetic(i*7919%n, 10000)
		machine := [...]string{e.IP.String(), e.MAC.String(), e.Hostname}[i%3]
		if _, err := q.LastSeen(ctx, machine); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchAvgPerIP runs b.N Stats queries: the average ping round-trip per
// IP over the whole store, min(n, 10000) groups.
func BenchAvgPerIP(b *testing.B, q audit.Querier, n int) {
	b.Helper()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		gs, err := q.Stats(ctx, audit.StatsQuery{Filter: audit.Filter{Package: "ping"}, Field: "rtt", By: []string{"ip"}})
		if err != nil || len(gs) != min(n, 10000) {
			b.Fatalf("%d groups, %v", len(gs), err)
		}
	}
}
