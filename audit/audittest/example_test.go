package audittest_test

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
)

// A Recorder collects what the code under test records; Wait blocks until
// the expected event arrives.
func ExampleRecorder() {
	var rec audittest.Recorder
	go audit.Record(context.Background(), &rec, audit.Event{Package: "dhcpd", Action: "ack", IP: netip.MustParseAddr("10.0.0.7")})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, ok := rec.Wait(ctx, func(e audit.Event) bool { return e.Action == "ack" })
	fmt.Println(ok, e.Package, e.IP)
	// Output: true dhcpd 10.0.0.7
}
