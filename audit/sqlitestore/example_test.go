package sqlitestore_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/sqlitestore"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "audit")
	defer os.RemoveAll(dir)
	s, err := sqlitestore.Open(ctx, filepath.Join(dir, "audit.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	rec := audit.NewBatcher(s, nil)
	t0 := time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC)
	for i, rtt := range []float64{1.2, 0.8, 1.0} {
		audit.Record(ctx, rec, audit.Event{Time: t0.Add(time.Duration(i) * time.Second), Package: "ping", Action: "reply",
			IP: netip.MustParseAddr("10.0.0.7"), Hostname: "kiosk-07", Fields: map[string]any{"rtt": rtt}})
	}
	rec.Close(ctx) // flushes

	seen, _ := s.LastSeen(ctx, "kiosk-07")
	fmt.Println("last seen:", seen.Time.Format(time.TimeOnly), seen.Package, seen.Action)
	gs, _ := s.Stats(ctx, audit.StatsQuery{Filter: audit.Filter{Package: "ping"}, Field: "rtt", By: []string{"ip"}})
	for _, g := range gs {
		fmt.Printf("%s: %d replies, average %.1f ms\n", g.Key[0], g.Count, g.Avg())
	}
	// Output:
	// last seen: 07:30:02 ping reply
	// 10.0.0.7: 3 replies, average 1.0 ms
}
