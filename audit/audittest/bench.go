package audittest

import (
	"context"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// The query benchmarks every backend runs, on a store that holds the
// events Mixed(i) for i < n (see [Load]): the four reports of the
// original PXElator's audit. The caller loads the store and resets the
// timer.

// BenchLastSeen runs b.N LastSeen queries: "when was this machine last
// seen", by IP, MAC and hostname in turn.
func BenchLastSeen(b *testing.B, q audit.Querier, n int) {
	b.Helper()
	ctx := context.Background()
	machines := min(n, MixedMachines)
	for i := 0; i < b.N; i++ {
		m := i * 7919 % machines
		machine := [...]string{Mixed(m).IP.String(), MixedMAC(m).String(), MixedHostname(m)}[i%3]
		if _, err := q.LastSeen(ctx, machine); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchHostDay runs b.N Events queries: every document of one machine
// (by hostname) in the first day of the load, page after page.
func BenchHostDay(b *testing.B, q audit.Querier, n int) {
	b.Helper()
	ctx := context.Background()
	machines := min(n, MixedMachines)
	day := T0.Truncate(24 * time.Hour)
	for i := 0; i < b.N; i++ {
		f := audit.Filter{Machine: MixedHostname(i * 7919 % machines), Since: day, Until: day.Add(24 * time.Hour)}
		docs, cursor := 0, ""
		for {
			p, err := q.Events(ctx, audit.EventsQuery{Filter: f, Limit: 1000, Cursor: cursor})
			if err != nil {
				b.Fatal(err)
			}
			docs += len(p.Documents)
			if cursor = p.Next; cursor == "" {
				break
			}
		}
		if docs == 0 {
			b.Fatalf("no documents of %s", f.Machine)
		}
	}
}

// BenchCountIPPower runs b.N Count queries: AMT power events by IP and
// power state over the whole store.
func BenchCountIPPower(b *testing.B, q audit.Querier, n int) {
	b.Helper()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		gs, err := q.Count(ctx, audit.CountQuery{Filter: audit.Filter{Package: "amt"}, By: []string{"ip", "power_state"}})
		if err != nil || len(gs) == 0 {
			b.Fatalf("%d groups, %v", len(gs), err)
		}
	}
}

// BenchAvgRTT runs b.N Stats queries: the average ping round-trip per IP
// over the whole store, min(n, MixedMachines) groups.
func BenchAvgRTT(b *testing.B, q audit.Querier, n int) {
	b.Helper()
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		gs, err := q.Stats(ctx, audit.StatsQuery{Filter: audit.Filter{Package: "ping"}, Field: "rtt", By: []string{"ip"}})
		if err != nil || len(gs) < min(n/2, MixedMachines) {
			b.Fatalf("%d groups, %v", len(gs), err)
		}
	}
}
