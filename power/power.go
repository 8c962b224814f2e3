package power

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/wol"
)

// Controller switches one machine and reads its power state: the
// vocabulary the amt, drac and wol clients share. Close ends a BMC
// session; call it when done.
type Controller interface {
	On(ctx context.Context) error
	Off(ctx context.Context) error
	SoftOff(ctx context.Context) error
	Cycle(ctx context.Context) error
	Reset(ctx context.Context) error
	PowerState(ctx context.Context) (pxelator.PowerState, error)
	Close(ctx context.Context) error
}

// Backend names the way a machine is switched.
type Backend string

// Backends.
const (
	AMT  Backend = "amt"  // Intel AMT, chosen by the attribute amt.address
	DRAC Backend = "drac" // a Dell iDRAC over Redfish, chosen by drac.address
	WoL  Backend = "wol"  // Wake-on-LAN, for every other machine: on only
)

// CanRead reports whether the backend can read a machine's power state:
// AMT and DRAC can, Wake-on-LAN cannot.
func (b Backend) CanRead() bool { return b == AMT || b == DRAC }

// Machine attributes that configure Wake-on-LAN.
const (
	// AttrWoLBroadcast is the IPv4 address, or the prefix whose broadcast
	// address, the magic packet is sent to (192.168.1.255 or
	// 192.168.1.0/24; default Config.WoL.Broadcast, then
	// 255.255.255.255).
	AttrWoLBroadcast = "wol.broadcast"
	// AttrWoLPort is the UDP port (default Config.WoL.Port, then 9).
	AttrWoLPort = "wol.port"
	// AttrWoLInterface names the interface a raw Ethernet frame is sent
	// on instead of a UDP datagram (needs CAP_NET_RAW).
	AttrWoLInterface = "wol.interface"
	// AttrWoLSecureOn is the SecureOn password, a secret attribute
	// (01:02:03:04:05:06 or 1.2.3.4).
	AttrWoLSecureOn = "wol.secureon"
)

// BackendOf returns the backend the attributes of m choose: AMT when it
// has an amt.address, DRAC when it has a drac.address, Wake-on-LAN
// otherwise.
func BackendOf(m pxelator.Machine) Backend {
	switch {
	case m.Get(amt.AttrAddress) != "":
		return AMT
	case m.Get(drac.AttrAddress) != "":
		return DRAC
	}
	return WoL
}

// Config is what the controllers need besides a machine's attributes.
// The zero value is usable.
type Config struct {
	// AMT, DRAC and WoL are the settings of each backend that a machine's
	// attributes do not give: default credentials, TLS, timeouts, the
	// Wake-on-LAN broadcast address and port. Attributes take the place
	// of the credentials and of the Wake-on-LAN fields they name.
	AMT  amt.Config
	DRAC drac.Config
	WoL  wol.Client

	// InsecureSkipVerify, Recorder and Logger apply to every backend
	// whose own setting is not set.
	InsecureSkipVerify bool
	Recorder           audit.Recorder
	Logger             *slog.Logger
}

// For returns the controller of m, of the backend [BackendOf] chooses.
// Errors are bad attributes (an address that is not one, a malformed
// SecureOn password); they never contain a secret.
func For(m pxelator.Machine, cfg Config) (Controller, error) {
	switch BackendOf(m) {
	case AMT:
		c := cfg.AMT
		c.InsecureSkipVerify = c.InsecureSkipVerify || cfg.InsecureSkipVerify
		c.Recorder = or(c.Recorder, cfg.Recorder)
		c.Logger = or(c.Logger, cfg.Logger)
		ctl, err := amt.NewClientFor(m, c)
		if err != nil {
			return nil, fmt.Errorf("power: %w", err)
		}
		return ctl, nil
	case DRAC:
		c := cfg.DRAC
		c.InsecureSkipVerify = c.InsecureSkipVerify || cfg.InsecureSkipVerify
		c.Recorder = or(c.Recorder, cfg.Recorder)
		c.Logger = or(c.Logger, cfg.Logger)
		ctl, err := drac.NewRedfishFor(m, c)
		if err != nil {
			return nil, fmt.Errorf("power: %w", err)
		}
		return ctl, nil
	}
	return wakeOnLAN(m, cfg)
}

func or[T comparable](a, b T) T {
	var zero T
	if a == zero {
		return b
	}
	return a
}

// wakeOnLAN returns the Wake-on-LAN client of m.
func wakeOnLAN(m pxelator.Machine, cfg Config) (*wol.Client, error) {
	if len(m.MAC) != 6 {
		return nil, fmt.Errorf("power: machine %v: Wake-on-LAN needs a 6-byte MAC address", m.IP)
	}
	c := cfg.WoL
	c.MAC = m.MAC
	c.Recorder = or(c.Recorder, cfg.Recorder)
	c.Logger = or(c.Logger, cfg.Logger)
	if v := m.Get(AttrWoLBroadcast); v != "" {
		a, err := ParseBroadcast(v)
		if err != nil {
			return nil, fmt.Errorf("power: machine %v: %s: %w", m.MAC, AttrWoLBroadcast, err)
		}
		c.Broadcast = a
	}
	if v := m.Get(AttrWoLPort); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("power: machine %v: %s %q: not a port", m.MAC, AttrWoLPort, v)
		}
		c.Port = p
	}
	c.Interface = or(m.Get(AttrWoLInterface), c.Interface)
	if v := m.Get(AttrWoLSecureOn); v != "" {
		p, err := wol.ParsePassword(v)
		if err != nil {
			// The error of ParsePassword never repeats the password.
			return nil, fmt.Errorf("power: machine %v: %s: %w", m.MAC, AttrWoLSecureOn, err)
		}
		c.Password = p
	}
	if c.Interface != "" && c.Broadcast.IsValid() {
		return nil, fmt.Errorf("power: machine %v: Wake-on-LAN by interface %s or to a broadcast address, not both", m.MAC, c.Interface)
	}
	return &c, nil
}

// ParseBroadcast parses the address a magic packet is sent to: an IPv4
// address such as 192.168.1.255, or a prefix such as 192.168.1.0/24 for
// its broadcast address.
func ParseBroadcast(s string) (netip.Addr, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4() {
			return netip.Addr{}, fmt.Errorf("%q is not an IPv4 prefix", s)
		}
		return wol.BroadcastAddr(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 address", s)
	}
	return a, nil
}

// Action is one of the operations of a [Controller] that switch a
// machine, by the name users give it.
type Action string

// Actions.
const (
	On      Action = "on"
	Off     Action = "off"
	SoftOff Action = "soft-off"
	Cycle   Action = "cycle"
	Reset   Action = "reset"
	// Wake switches a machine on with a wake-on-LAN packet, whatever other
	// backend it has: for a machine whose BMC is unreachable or unset.
	Wake Action = "wake"
)

// Actions returns every action, in the order above.
func Actions() []Action { return []Action{On, Off, SoftOff, Cycle, Reset, Wake} }

// Do runs the action on c.
func (a Action) Do(ctx context.Context, c Controller) error {
	switch a {
	case On, Wake:
		return c.On(ctx)
	case Off:
		return c.Off(ctx)
	case SoftOff:
		return c.SoftOff(ctx)
	case Cycle:
		return c.Cycle(ctx)
	case Reset:
		return c.Reset(ctx)
	}
	return fmt.Errorf("power: unknown action %q: want on, off, soft-off, cycle, reset or wake", string(a))
}

// Switch runs the action a on machine m through its controller, which it
// closes afterwards (logging out of a BMC even when the action failed).
func Switch(ctx context.Context, m pxelator.Machine, cfg Config, a Action) error {
	if !slices.Contains(Actions(), a) {
		return a.Do(ctx, nil) // the error, before any session is opened
	}
	if a == Wake {
		m.Set(amt.AttrAddress, "")
		m.Set(drac.AttrAddress, "")
	}
	c, err := For(m, cfg)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	return a.Do(ctx, c)
}

// A Switcher switches machines by the name of an action and reads their
// power state, opening a machine's controller for each call and closing
// it after: what the web page and the DNS commands need.
type Switcher struct {
	Config Config
}

// Do runs the action named action on m (see [Switch]).
func (s Switcher) Do(ctx context.Context, m pxelator.Machine, action string) error {
	return Switch(ctx, m, s.Config, Action(action))
}

// State reads m's power state from its BMC. A machine whose backend
// cannot tell (wake-on-LAN) gives an error wrapping errors.ErrUnsupported
// without a packet sent.
func (s Switcher) State(ctx context.Context, m pxelator.Machine) (pxelator.PowerState, error) {
	if !BackendOf(m).CanRead() {
		return pxelator.PowerUnknown, fmt.Errorf("power: machine %v has no BMC that tells its power state: %w", m.MAC, errors.ErrUnsupported)
	}
	c, err := For(m, s.Config)
	if err != nil {
		return pxelator.PowerUnknown, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return c.PowerState(ctx)
}
