package audit_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
)

// A Batcher merges the events of one second into one document per
// package and subject.
func ExampleBatcher() {
	backend := &audittest.Inserter{}
	rec := audit.NewBatcher(backend, nil)
	ctx := context.Background()
	at := time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC)
	ip := netip.MustParseAddr("10.0.0.61")
	audit.Record(ctx, rec, audit.Event{Time: at, Package: "dhcpd", Action: "discover", IP: ip})
	audit.Record(ctx, rec, audit.Event{Time: at.Add(20 * time.Millisecond), Package: "dhcpd", Action: "request", IP: ip})
	rec.Close(ctx)
	for _, d := range backend.Documents() {
		fmt.Println(d.ID, len(d.Entries), "entries")
	}
	// Output: 2026-11-24.07:30:00.dhcpd.10.0.0.61 2 entries
}
