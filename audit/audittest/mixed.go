package audittest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// MixedMachines is how many machines the mixed load has.
const MixedMachines = 10000

// MixedStep is the time between two events of one machine in the mixed
// load: 10M events span about 17 hours from T0, into the next day.
const MixedStep = time.Minute

// Mixed returns the i-th event of a mixed audit load for benchmarks, the
// traffic of a segment of MixedMachines machines (IP 10.x.y.z, MAC
// 52:54:00:x:y:z, hostname host-N), each sending one event every
// MixedStep in turn: half of them ping replies with a round-trip time
// "rtt" (ms), a tenth AMT power states "power_state" (on, off, sleep),
// a fifth DHCP (discover, offer, request, ack, with "xid"), a tenth TFTP
// reads ("file", "outcome", "bytes") and a tenth syslog lines ("app",
// "msg"). The same i always gives the same event.
func Mixed(i int) audit.Event {
	m := i % MixedMachines
	round := i / MixedMachines
	ip := netip.AddrFrom4([4]byte{10, byte(m >> 16), byte(m >> 8), byte(m)})
	e := audit.Event{
		Time: T0.Add(time.Duration(round)*MixedStep + time.Duration(m)*MixedStep/MixedMachines),
		IP:   ip,
	}
	switch (round + m) % 10 {
	case 0, 1, 2, 3, 4:
		e.Package, e.Action = "ping", "reply"
		e.Fields = map[string]any{"rtt": float64((i*7919)%1000) / 10}
	case 5:
		e.Package, e.Action = "amt", "power"
		e.Fields = map[string]any{"power_state": [...]string{"on", "off", "sleep"}[(round/10+m)%3]}
	case 6, 7:
		e.Package = "dhcpd"
		e.Action = [...]string{"discover", "offer", "request", "ack"}[(round/10*2+(round+m)%10-6)%4]
		e.MAC = MixedMAC(m)
		e.Hostname = MixedHostname(m)
		e.Fields = map[string]any{"xid": fmt.Sprintf("0x%08x", uint32(i*2654435761))}
	case 8:
		e.Package, e.Action = "tftpd", "read"
		outcome := "ok"
		if i%50 == 0 {
			outcome = "timeout"
		}
		e.Fields = map[string]any{"file": [...]string{"pxelinux.0", "ldlinux.c32", "vmlinuz", "initrd.img"}[round/10%4],
			"outcome": outcome, "bytes": 1000 + i%100000}
	case 9:
		e.Package, e.Action = "syslogd", "kern"
		e.Hostname = MixedHostname(m)
		e.Fields = map[string]any{"app": "kernel", "msg": fmt.Sprintf("kernel: line %d", round)}
	}
	return e
}

// MixedMAC returns the MAC address of machine m of the mixed load.
func MixedMAC(m int) net.HardwareAddr {
	return net.HardwareAddr{0x52, 0x54, 0x00, byte(m >> 16), byte(m >> 8), byte(m)}
}

// MixedHostname returns the hostname of machine m of the mixed load.
func MixedHostname(m int) string { return fmt.Sprintf("host-%d", m) }

// Load inserts the events Mixed(i) for from <= i < to into ins, in
// batches of 1000 events merged into documents as the Batcher merges
// them (one event per document: one machine sends one event a minute),
// and returns the first error.
func Load(ctx context.Context, ins audit.Inserter, from, to int) error {
	const batch = 1000
	events := make([]audit.Event, 0, batch)
	for i := from; i < to; i += batch {
		events = events[:0]
		for j := i; j < min(i+batch, to); j++ {
			events = append(events, Mixed(j))
		}
		if err := ins.Insert(ctx, audit.Merge(events)); err != nil {
			return err
		}
	}
	return nil
}
