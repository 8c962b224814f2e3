package memstore_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/memstore"
)

// A memstore answers the same lookups as a store on disk without
// touching one.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	store.Put(ctx, pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.7"), Server: netip.MustParseAddr("10.0.0.1")})
	m, err := store.ByIP(ctx, netip.MustParseAddr("10.0.0.7"))
	fmt.Println(m.MAC, err)
	_, err = store.ByHostname(ctx, "nobody")
	fmt.Println(err, store.Len())
	// Output:
	// 52:54:00:12:34:56 <nil>
	// pxelator: machine not found 1
}
