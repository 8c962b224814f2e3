package wol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/mdlayher/wol"
	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Ports a magic packet is commonly sent to.
const (
	PortDiscard = 9 // the default
	PortEcho    = 7
)

// EtherType is the EtherType of a magic packet sent as a raw Ethernet frame.
const EtherType = wol.EtherType

// Client wakes one machine. The zero value of every field but MAC is
// usable: it sends a UDP datagram to 255.255.255.255 port 9.
type Client struct {
	// MAC is the hardware address of the machine to wake.
	MAC net.HardwareAddr

	// Broadcast is the IPv4 address UDP packets are sent to, normally the
	// subnet-directed broadcast address of the machine's network (see
	// [BroadcastAddr]). The zero value means the limited broadcast
	// 255.255.255.255, which only reaches the sender's own segment.
	Broadcast netip.Addr

	// Port is the UDP port; zero means [PortDiscard] (9).
	Port int

	// Interface, when set, names the network interface a raw Ethernet
	// frame (EtherType 0x0842) is sent on instead of a UDP datagram.
	// Sending raw frames needs CAP_NET_RAW.
	Interface string

	// Password is the optional SecureOn password: empty, 4 or 6 bytes
	// (see [ParsePassword]).
	Password []byte

	// Recorder, when not nil, records every packet sent (never the
	// SecureOn password).
	Recorder audit.Recorder

	// Logger receives a debug log of every packet sent (never the
	// SecureOn password); nil means slog.Default().
	Logger *slog.Logger
}

// ErrUnsupported is wrapped by the error of every operation but On (and
// Wake): a magic packet can only switch a machine on, and is never
// answered. It wraps [errors.ErrUnsupported], so that one test serves the
// power packages alike.
var ErrUnsupported = fmt.Errorf("wake-on-LAN can only switch a machine on: %w", errors.ErrUnsupported)

// errorf returns an error prefixed with the package name.
func errorf(format string, args ...any) error {
	return fmt.Errorf("wol: "+format, args...)
}

// Addr returns the UDP address c sends to.
func (c *Client) Addr() netip.AddrPort {
	ip := c.Broadcast
	if !ip.IsValid() {
		ip = netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	port := c.Port
	if port == 0 {
		port = PortDiscard
	}
	return netip.AddrPortFrom(ip, uint16(port))
}

// Wake sends one magic packet for c.MAC. It returns once the packet is
// handed to the network: Wake-on-LAN has no answer.
func (c *Client) Wake(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return errorf("wake %v: %w", c.MAC, err)
	}
	if len(c.MAC) != 6 {
		return errorf("wake: %q is not a 6-byte MAC address", c.MAC.String())
	}
	if n := len(c.Password); n != 0 && n != 4 && n != 6 {
		return errorf("wake %v: SecureOn password is %d bytes, want 4 or 6", c.MAC, n)
	}
	if c.Port < 0 || c.Port > 65535 {
		return errorf("wake %v: port %d out of range", c.MAC, c.Port)
	}
	var via string
	var err error
	if c.Interface != "" {
		via = c.Interface
		err = c.wakeRaw()
	} else {
		via = c.Addr().String()
		err = c.wakeUDP()
	}
	fields := map[string]any{"via": via, "secureon": len(c.Password) > 0}
	if err != nil {
		fields["error"] = err.Error()
	}
	audit.Record(ctx, c.Recorder, audit.Event{Package: "wol", Action: "wake", MAC: c.MAC, Fields: fields})
	c.logger().DebugContext(ctx, "wol: magic packet", "mac", c.MAC, "via", via, "secureon", len(c.Password) > 0, "err", err)
	if err != nil {
		return errorf("wake %v via %s: %w", c.MAC, via, err)
	}
	return nil
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Client) wakeUDP() error {
	wc, err := wol.NewClient()
	if err != nil {
		return err
	}
	defer wc.Close()
	return wc.WakePassword(c.Addr().String(), c.MAC, c.Password)
}

func (c *Client) wakeRaw() error {
	ifi, err := net.InterfaceByName(c.Interface)
	if err != nil {
		return err
	}
	rc, err := wol.NewRawClient(ifi)
	if err != nil {
		return err
	}
	defer rc.Close()
	return rc.WakePassword(c.MAC, c.Password)
}

// On sends a magic packet. A machine that is already on ignores it, so
// On is not an error for a running machine.
func (c *Client) On(ctx context.Context) error { return c.Wake(ctx) }

// Off returns an error wrapping [ErrUnsupported]: Wake-on-LAN cannot
// switch a machine off.
func (c *Client) Off(ctx context.Context) error { return unsupported("off") }

// SoftOff returns an error wrapping [ErrUnsupported].
func (c *Client) SoftOff(ctx context.Context) error { return unsupported("soft off") }

// Cycle returns an error wrapping [ErrUnsupported].
func (c *Client) Cycle(ctx context.Context) error { return unsupported("cycle") }

// Reset returns an error wrapping [ErrUnsupported].
func (c *Client) Reset(ctx context.Context) error { return unsupported("reset") }

// PowerState returns [pxelator.PowerUnknown] and an error wrapping
// [ErrUnsupported]: a magic packet is never answered.
func (c *Client) PowerState(ctx context.Context) (pxelator.PowerState, error) {
	return pxelator.PowerUnknown, unsupported("power state")
}

func unsupported(op string) error {
	return errorf("%s: %w", op, ErrUnsupported)
}

// Close does nothing and returns nil: a Client keeps no connection
// between packets. It completes the power vocabulary of the wol, amt and
// drac packages, whose clients do hold connections or sessions.
func (c *Client) Close(ctx context.Context) error { return nil }

// BroadcastAddr returns the subnet-directed broadcast address of the IPv4
// prefix p, such as 192.168.1.255 for 192.168.1.0/24. It returns the zero
// Addr for an IPv6 or invalid prefix.
func BroadcastAddr(p netip.Prefix) netip.Addr {
	if !p.IsValid() || !p.Addr().Is4() {
		return netip.Addr{}
	}
	a := p.Addr().As4()
	for i := range a {
		bits := p.Bits() - 8*i
		switch {
		case bits >= 8:
		case bits <= 0:
			a[i] = 0xff
		default:
			a[i] |= 0xff >> bits
		}
	}
	return netip.AddrFrom4(a)
}

// ParsePassword parses a SecureOn password written as six hexadecimal
// bytes like a MAC address ("01:02:03:04:05:06" or with dashes) or as
// four decimal bytes like an IPv4 address ("192.168.1.1"). The empty
// string is no password.
func ParsePassword(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	if ip, err := netip.ParseAddr(s); err == nil && ip.Is4() {
		b := ip.As4()
		return b[:], nil
	}
	if hw, err := net.ParseMAC(s); err == nil && len(hw) == 6 {
		return hw, nil
	}
	// The password itself stays out of the message: it may be printed.
	return nil, errorf("SecureOn password of %d characters: want 6 hex bytes (01:02:03:04:05:06) or 4 decimal bytes (1.2.3.4)", len(s))
}
