package monitor_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/monitor"
)

// listen opens an ICMP socket of network, or skips the test when the
// system does not allow it.
func listen(t *testing.T, network string) *monitor.ICMPConn {
	t.Helper()
	c, err := monitor.Listen(network)
	if err != nil {
		t.Skipf("no ICMP socket (root, or a group in net.ipv4.ping_group_range, is needed): %v", err)
	}
	return c
}

// TestICMPLoopback pings 20 addresses of 127.0.0.0/8 through the socket
// the system allows and checks that each answers and is recorded with
// its round-trip time.
func TestICMPLoopback(t *testing.T) {
	conn := listen(t, "")
	t.Logf("socket: %s", conn.Network())
	store := memstore.New()
	const n = 20
	for i := 1; i <= n; i++ {
		m := machine(i, netip.AddrFrom4([4]byte{127, 0, 0, byte(i)}))
		if err := store.Put(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	rec := &audittest.Recorder{}
	mon := monitor.New(store, &monitor.Options{Interval: 20 * time.Millisecond, Timeout: 20 * time.Millisecond, Recorder: rec, Logger: slog.New(slog.DiscardHandler)})
	runMonitor(t, mon, conn)
	waitUp(t, mon, n)
	seen := map[netip.Addr]bool{}
	for _, e := range rec.Find("ping", "reply") {
		rtt, ok := e.Fields["rtt"].(float64)
		if !ok || rtt <= 0 || rtt > 10000 {
			t.Errorf("reply of %v: rtt %v", e.IP, e.Fields["rtt"])
		}
		seen[e.IP] = true
	}
	if len(seen) != n {
		t.Errorf("replies from %d addresses, want %d", len(seen), n)
	}
}

// waitUp waits (30 s at most) until n machines are up.
func waitUp(t *testing.T, mon *monitor.Monitor, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		up := 0
		for _, st := range mon.Statuses() {
			if st.State == monitor.Up {
				up++
			}
		}
		if up == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d machines up after 30 s: %v", up, n, fmt.Sprint(mon.Statuses()))
		}
	}
}
