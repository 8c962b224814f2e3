package index_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/internal/index"
)

// A store embeds the Index for its lookups and changes it through the
// Writer; the watchers hear of a change when the Writer unlocks.
func Example() {
	ctx := context.Background()
	x, w := index.New()
	changes := x.Watch(ctx)

	mac, _ := net.ParseMAC("52:54:00:00:0a:3d")
	m, err := index.Normalize(pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.61"), Hostname: "Kiosk-01"})
	if err != nil {
		fmt.Println(err)
		return
	}
	w.Lock()
	if old, err := w.Check(m); err == nil {
		w.Insert(m, old)
		w.Changed()
	}
	w.Unlock()

	found, _ := x.ByHostname(ctx, "kiosk-01")
	fmt.Println(found, "generation", <-changes)
	// Output: 52:54:00:00:0a:3d 10.0.0.61 hostname=Kiosk-01 generation 1
}
