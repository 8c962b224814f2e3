package pxelator

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// Errors returned by every [Store].
var (
	// ErrNotFound is returned by lookups for a machine the store does not hold.
	ErrNotFound = errors.New("pxelator: machine not found")
	// ErrConflict is returned by Put when another machine already holds
	// the IP address or host name.
	ErrConflict = errors.New("pxelator: conflicting machine")
)

// Store holds the machines of one or more network segments. Lookups are
// answered from memory. Every method is safe for concurrent use.
//
// A machine is identified by its MAC address: Put of a machine whose MAC
// is known replaces it, moving it to a new IP address or host name if they
// changed. IP addresses and host names (compared without case) are unique
// across the store.
type Store interface {
	// ByMAC returns the machine with the hardware address mac.
	ByMAC(ctx context.Context, mac net.HardwareAddr) (Machine, error)
	// ByIP returns the machine with the address ip.
	ByIP(ctx context.Context, ip netip.Addr) (Machine, error)
	// ByHostname returns the machine named name, without regard to case.
	ByHostname(ctx context.Context, name string) (Machine, error)
	// List returns every machine, ordered by IP address.
	List(ctx context.Context) ([]Machine, error)
	// Put adds or replaces the machine with m's MAC address.
	Put(ctx context.Context, m Machine) error
	// Delete removes the machine with the hardware address mac.
	Delete(ctx context.Context, mac net.HardwareAddr) error
	// Watch returns a channel that receives the store's generation, a
	// number that grows with every change, after each change, until ctx is
	// done. Sends coalesce: a slow reader is never blocking the store and
	// always receives the newest generation.
	Watch(ctx context.Context) <-chan uint64
}

// ParseMAC parses a hardware address as net.ParseMAC does, and also
// accepts the dash-separated lower-case form used in pxelinux file names.
func ParseMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("pxelator: bad MAC address " + quote(s))
	}
	return mac, nil
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}
