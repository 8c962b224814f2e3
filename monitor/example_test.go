package monitor_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/monitor"
	"github.com/pxelator/pxelator/monitor/monitortest"
)

// A monitor of two machines, one of which does not answer. In a server,
// conn is monitor.Listen("") and the alerter monitor.Command or
// monitor.Webhook.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	store := memstore.New()
	for i, ip := range []string{"10.0.0.11", "10.0.0.12"} {
		m := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0x0a, byte(i)}, IP: netip.MustParseAddr(ip), Hostname: fmt.Sprintf("kiosk-%02d", i+1)}
		if err := store.Put(ctx, m); err != nil {
			panic(err)
		}
	}
	conn := monitortest.NewConn()
	conn.SetUp(netip.MustParseAddr("10.0.0.11"), 0)

	alerted := make(chan monitor.Alert, 1)
	mon := monitor.New(store, &monitor.Options{
		Interval:  10 * time.Millisecond,
		Timeout:   5 * time.Millisecond,
		DownAfter: 3,
		Alerter: monitor.AlerterFunc(func(ctx context.Context, a monitor.Alert) error {
			alerted <- a
			return nil
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	done := make(chan error)
	go func() { done <- mon.Run(ctx, conn) }()

	a := <-alerted
	fmt.Println("alert:", a.Hostname, a.State, "after", a.Misses, "misses")
	for _, st := range mon.Statuses() {
		fmt.Println(st.IP, st.Hostname, st.State)
	}
	cancel()
	<-done
	// Output:
	// alert: kiosk-02 down after 3 misses
	// 10.0.0.11 kiosk-01 up
	// 10.0.0.12 kiosk-02 down
}
