package monitor_test

import (
	"context"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/internal/netnstest"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/monitor"
)

// TestICMPNetns proves both kinds of socket in a network namespace of its
// own: with net.ipv4.ping_group_range allowing the process's group (a
// per-namespace sysctl) Listen picks a datagram socket, and a raw socket
// works too. Through each, a machine whose address goes away is down, with
// one alert, and up again, with one more, when the address comes back.
func TestICMPNetns(t *testing.T) {
	ns := netnstest.New(t, "monitor")
	ctx := context.Background()
	// 10.99.0.0/24 is a link where nobody answers ARP, like a segment
	// whose machine is off; 10.99.0.2 answers while it is an address of
	// this namespace.
	netnstest.Veth(t, ns, "pxm0", ns, "pxm1")
	ns.IP(t, "addr", "add", "10.99.0.1/24", "dev", "pxm0")
	// A per-namespace sysctl: the group of every process may ping.
	if out, err := ns.Command(ctx, "sh", "-c", "echo 0 2147483647 > /proc/sys/net/ipv4/ping_group_range").CombinedOutput(); err != nil {
		t.Fatalf("ping_group_range: %v: %s", err, out)
	}

	for _, network := range []string{"", monitor.NetworkRaw} {
		name := network
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			var conn *monitor.ICMPConn
			ns.Do(t, func() (err error) { conn, err = monitor.Listen(network); return err })
			want := network
			if want == "" {
				want = monitor.NetworkDatagram // the sysctl allows it
			}
			if conn.Network() != want {
				t.Fatalf("socket %s, want %s", conn.Network(), want)
			}
			store := memstore.New()
			steady, flaky := netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("10.99.0.2")
			for i, a := range []netip.Addr{steady, flaky} {
				if err := store.Put(context.Background(), machine(i+1, a)); err != nil {
					t.Fatal(err)
				}
			}
			ns.IP(t, "addr", "add", "10.99.0.2/32", "dev", "pxm0")
			rec, al := &audittest.Recorder{}, &alerts{}
			mon := monitor.New(store, &monitor.Options{Interval: 20 * time.Millisecond, Timeout: 10 * time.Millisecond,
				DownAfter: 3, Recorder: rec, Alerter: al, Logger: slog.New(slog.DiscardHandler)})
			runMonitor(t, mon, conn)
			state := func(a netip.Addr) monitor.State { st, _ := mon.Status(a); return st.State }
			waitUp(t, mon, 2)
			ns.IP(t, "addr", "del", "10.99.0.2/32", "dev", "pxm0")
			waitFor(t, "down", func() bool { return state(flaky) == monitor.Down })
			waitFor(t, "the down alert", func() bool { return len(al.of(flaky)) == 1 })
			ns.IP(t, "addr", "add", "10.99.0.2/32", "dev", "pxm0")
			waitFor(t, "up", func() bool { return state(flaky) == monitor.Up })
			waitFor(t, "the up alert", func() bool { return len(al.of(flaky)) == 2 })
			ns.IP(t, "addr", "del", "10.99.0.2/32", "dev", "pxm0")
			equal(t, "alerts", al.of(flaky), []monitor.State{monitor.Down, monitor.Up})
			equal(t, "alerts of the steady machine", al.of(steady), nil)
			if st, _ := mon.Status(steady); st.State != monitor.Up {
				t.Errorf("steady machine %+v", st)
			}
			if n := len(rec.Find("ping", "reply")); n < 5 {
				t.Errorf("%d reply events", n)
			}
		})
	}
}
