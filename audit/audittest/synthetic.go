package audittest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// Synthetic returns the i-th event of a synthetic audit load for
// benchmarks: each of machines machines (IP 10.x.y.z, a MAC and a
// hostname "host-N") sends one event per second from T0, in turn; nine
// in ten are ping replies with a round-trip time "rtt", one in ten AMT
// power states "power_state". The same i always gives the same event.
func Synthetic(i, machines int) audit.Event {
	m := i % machines
	sec := i / machines
	ip := netip.AddrFrom4([4]byte{10, byte(m >> 16), byte(m >> 8), byte(m)})
	e := audit.Event{
		Time:     T0.Add(time.Duration(sec)*time.Second + time.Duration(m%1000)*time.Millisecond),
		IP:       ip,
		MAC:      net.HardwareAddr{0x52, 0x54, 0x00, byte(m >> 16), byte(m >> 8), byte(m)},
		Hostname: fmt.Sprintf("host-%d", m),
	}
	if (sec+m)%10 == 0 {
		e.Package, e.Action = "amt", "power"
		e.Fields = map[string]any{"power_state": [...]string{"on", "off", "sleep"}[(sec/10+m)%3]}
	} else {
		e.Package, e.Action = "ping", "reply"
		e.Fields = map[string]any{"rtt": float64((i*7919)%1000) / 10}
	}
	return e
}

// LoadSynthetic inserts the events Synthetic(i, machines) for from <= i
// < to into ins, in batches of 1000 events merged into documents as the
// Batcher merges them, and returns the first error.
func LoadSynthetic(ctx context.Context, ins audit.Inserter, from, to, machines int) error {
	const batch = 1000
	events := make([]audit.Event, 0, batch)
	for i := from; i < to; i += batch {
		events = events[:0]
		for j := i; j < min(i+batch, to); j++ {
			events = append(events, Synthetic(j, machines))
		}
		if err := ins.Insert(ctx, audit.Merge(events)); err != nil {
			return err
		}
	}
	return nil
}
