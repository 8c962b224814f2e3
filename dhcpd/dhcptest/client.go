// Package dhcptest provides a scripted DHCP and PXE client for tests of
// DHCP servers, in the spirit of net/http/httptest.
//
// A [Client] made by [NewClient] speaks to a server over UDP from an
// ephemeral port: it acts as its own relay agent (giaddr is its local
// address), so the server answers it by unicast and a test needs neither
// root, nor broadcast, nor port 68; the server must take relayed requests
// from that address (dhcpd.Config.Relays). One made by
// [NewBroadcastClient] speaks as a machine on the segment does, by
// broadcast from port 68, as in a network namespace. Options let it send
// exactly what a given firmware sends, for example [IPXEBIOS] for the
// iPXE ROM of QEMU.
package dhcptest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Client is a scripted DHCP client for one MAC address. It is not safe
// for concurrent use; use one Client per simulated machine.
type Client struct {
	// MAC is the client hardware address (chaddr).
	MAC net.HardwareAddr
	// Modifiers are applied to every request the client builds, after
	// the message type: PXE options, a host name, a client identifier.
	Modifiers []dhcpv4.Modifier
	// Retry is the retransmission interval (default 500ms).
	Retry time.Duration

	conn   *net.UDPConn
	server *net.UDPAddr
	local  netip.AddrPort
	relay  bool // the client is its own relay, on a connected socket
}

// NewClient returns a client for mac that sends to the server at server
// ("127.0.0.1:port") from an ephemeral port on the loopback interface.
func NewClient(server string, mac net.HardwareAddr, mods ...dhcpv4.Modifier) (*Client, error) {
	sa, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		return nil, fmt.Errorf("dhcptest: %w", err)
	}
	conn, err := net.DialUDP("udp4", nil, sa)
	if err != nil {
		return nil, fmt.Errorf("dhcptest: %w", err)
	}
	return &Client{MAC: mac, Modifiers: mods, conn: conn, server: sa,
		local: conn.LocalAddr().(*net.UDPAddr).AddrPort(), relay: true}, nil
}

// NewBroadcastClient returns a client for mac that speaks as a machine on
// the segment does: its requests have no giaddr and go from conn to
// 255.255.255.255:67, and it takes the replies broadcast to conn, which
// must be bound to port 68 with broadcasts allowed (and, where the host
// has several interfaces, to one of them: SO_BINDTODEVICE). Close closes
// conn.
func NewBroadcastClient(conn *net.UDPConn, mac net.HardwareAddr, mods ...dhcpv4.Modifier) *Client {
	return &Client{MAC: mac, Modifiers: mods, conn: conn, local: conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		server: &net.UDPAddr{IP: net.IPv4bcast, Port: 67}}
}

// Close closes the client's socket.
func (c *Client) Close() error { return c.conn.Close() }

// LocalAddr returns the address replies come to; for a client of
// NewClient it is the giaddr of every request.
func (c *Client) LocalAddr() netip.AddrPort { return c.local }

// New builds a request of type t (0 for a BOOTP request) with the client's
// MAC, giaddr (for a client of NewClient) and Modifiers, then mods.
func (c *Client) New(t dhcpv4.MessageType, mods ...dhcpv4.Modifier) (*dhcpv4.DHCPv4, error) {
	all := []dhcpv4.Modifier{dhcpv4.WithHwAddr(c.MAC)}
	if c.relay {
		all = append(all, dhcpv4.WithGatewayIP(c.local.Addr().AsSlice()), func(d *dhcpv4.DHCPv4) { d.HopCount = 1 })
	}
	if t != 0 {
		all = append(all, dhcpv4.WithMessageType(t))
	}
	all = append(all, c.Modifiers...)
	all = append(all, mods...)
	p, err := dhcpv4.New(all...)
	if err != nil {
		return nil, fmt.Errorf("dhcptest: %w", err)
	}
	return p, nil
}

// Discover sends a DISCOVER and returns the first OFFER.
func (c *Client) Discover(ctx context.Context, mods ...dhcpv4.Modifier) (*dhcpv4.DHCPv4, error) {
	p, err := c.New(dhcpv4.MessageTypeDiscover, mods...)
	if err != nil {
		return nil, err
	}
	return c.Exchange(ctx, p)
}

// Request sends the REQUEST that selects offer and returns the ACK or NAK.
func (c *Client) Request(ctx context.Context, offer *dhcpv4.DHCPv4, mods ...dhcpv4.Modifier) (*dhcpv4.DHCPv4, error) {
	mods = append([]dhcpv4.Modifier{
		dhcpv4.WithTransactionID(offer.TransactionID),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(offer.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(offer.ServerIdentifier())),
	}, mods...)
	p, err := c.New(dhcpv4.MessageTypeRequest, mods...)
	if err != nil {
		return nil, err
	}
	return c.Exchange(ctx, p)
}

// DORA runs DISCOVER, OFFER, REQUEST, ACK and returns the offer and the
// ACK. A NAK is an error.
func (c *Client) DORA(ctx context.Context, mods ...dhcpv4.Modifier) (offer, ack *dhcpv4.DHCPv4, err error) {
	offer, err = c.Discover(ctx, mods...)
	if err != nil {
		return nil, nil, err
	}
	if offer.MessageType() != dhcpv4.MessageTypeOffer {
		return offer, nil, fmt.Errorf("dhcptest: got %v, want OFFER", offer.MessageType())
	}
	ack, err = c.Request(ctx, offer, mods...)
	if err != nil {
		return offer, nil, err
	}
	if ack.MessageType() != dhcpv4.MessageTypeAck {
		return offer, ack, fmt.Errorf("dhcptest: got %v (%s), want ACK", ack.MessageType(), ack.Message())
	}
	return offer, ack, nil
}

// Exchange sends p, resending it every Retry, until a reply with p's
// transaction id arrives or ctx is done.
func (c *Client) Exchange(ctx context.Context, p *dhcpv4.DHCPv4) (*dhcpv4.DHCPv4, error) {
	retry := c.Retry
	if retry <= 0 {
		retry = 500 * time.Millisecond
	}
	b := p.ToBytes()
	buf := make([]byte, 65536)
	for {
		if err := c.SendBytes(b); err != nil {
			return nil, err
		}
		until := time.Now().Add(retry)
		if d, ok := ctx.Deadline(); ok && d.Before(until) {
			until = d
		}
		for {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("dhcptest: no reply to %v: %w", p.MessageType(), err)
			}
			c.conn.SetReadDeadline(until)
			n, err := c.conn.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				break // resend
			}
			if err != nil {
				return nil, fmt.Errorf("dhcptest: %w", err)
			}
			r, err := dhcpv4.FromBytes(buf[:n])
			if err != nil || r.OpCode != dhcpv4.OpcodeBootReply || r.TransactionID != p.TransactionID || !answers(p, r) {
				continue // not ours, or a late answer to an earlier message of this transaction
			}
			return r, nil
		}
	}
}

// answers reports whether r is a reply to a request of p's type.
func answers(p, r *dhcpv4.DHCPv4) bool {
	if !p.Options.Has(dhcpv4.OptionDHCPMessageType) {
		return !r.Options.Has(dhcpv4.OptionDHCPMessageType)
	}
	switch r.MessageType() {
	case dhcpv4.MessageTypeOffer:
		return p.MessageType() == dhcpv4.MessageTypeDiscover
	case dhcpv4.MessageTypeAck, dhcpv4.MessageTypeNak:
		return p.MessageType() == dhcpv4.MessageTypeRequest || p.MessageType() == dhcpv4.MessageTypeInform
	}
	return false
}

// SendBytes sends b to the server as it is: for malformed packets.
func (c *Client) SendBytes(b []byte) error {
	var err error
	if c.relay {
		_, err = c.conn.Write(b)
	} else {
		_, err = c.conn.WriteTo(b, c.server)
	}
	if err != nil {
		return fmt.Errorf("dhcptest: %w", err)
	}
	return nil
}

// Receive waits for one packet from the server until ctx is done.
func (c *Client) Receive(ctx context.Context) (*dhcpv4.DHCPv4, error) {
	buf := make([]byte, 65536)
	for {
		until := time.Now().Add(100 * time.Millisecond)
		c.conn.SetReadDeadline(until)
		n, err := c.conn.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("dhcptest: %w", ctx.Err())
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("dhcptest: %w", err)
		}
		p, err := dhcpv4.FromBytes(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("dhcptest: %w", err)
		}
		return p, nil
	}
}

// IPXEBIOS returns the options the iPXE ROM of QEMU (Debian's ipxe-qemu)
// sends in its DISCOVER: vendor class PXEClient:Arch:00000:UNDI:002001,
// user class iPXE, architecture 0 (option 93), network interface
// identifier UNDI 2.1 (option 94), a client GUID (option 97) and iPXE's
// encapsulated options (option 175).
func IPXEBIOS() []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00000:UNDI:002001")),
		dhcpv4.WithOption(dhcpv4.OptUserClass("iPXE")),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.INTEL_X86PC)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientNetworkInterfaceIdentifier, []byte{1, 2, 1}),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, []byte("\x00"+testGUID)),
		dhcpv4.WithGeneric(dhcpv4.OptionEtherboot, []byte{0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e, 0xeb, 0x03, 0x01, 0x00, 0x00, 0x17, 0x01, 0x01, 0x22, 0x01, 0x01, 0x13, 0x01, 0x01, 0x11, 0x01, 0x01, 0x27, 0x01, 0x01, 0x19, 0x01, 0x01, 0x29, 0x01, 0x01, 0x10, 0x01, 0x02, 0x21, 0x01, 0x01, 0x15, 0x01, 0x01, 0x18, 0x01, 0x01, 0x12, 0x01, 0x01}),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter, dhcpv4.OptionDomainNameServer,
			dhcpv4.OptionLogServer, dhcpv4.OptionHostName, dhcpv4.OptionDomainName, dhcpv4.OptionRootPath,
			dhcpv4.OptionVendorSpecificInformation, dhcpv4.OptionClassIdentifier, dhcpv4.OptionTFTPServerName,
			dhcpv4.OptionBootfileName, dhcpv4.OptionEtherboot),
	}
}

// PXEFirmware returns the options of a firmware PXE client (no iPXE) of
// architecture arch, as UEFI firmware sends them: vendor class
// PXEClient:Arch:NNNNN:UNDI:003000, options 93, 94 and 97.
func PXEFirmware(arch iana.Arch) []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier(fmt.Sprintf("PXEClient:Arch:%05d:UNDI:003000", arch))),
		dhcpv4.WithOption(dhcpv4.OptClientArch(arch)),
		dhcpv4.WithGeneric(dhcpv4.OptionClientNetworkInterfaceIdentifier, []byte{1, 3, 0}),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, []byte("\x00"+testGUID)),
	}
}

// HTTPBoot returns the options of a UEFI HTTP boot client of architecture
// arch (for example iana.EFI_X86_64_HTTP): vendor class
// HTTPClient:Arch:NNNNN:UNDI:003000 and option 93.
func HTTPBoot(arch iana.Arch) []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier(fmt.Sprintf("HTTPClient:Arch:%05d:UNDI:003000", arch))),
		dhcpv4.WithOption(dhcpv4.OptClientArch(arch)),
	}
}

// testGUID is the client GUID the option sets send (option 97).
const testGUID = "\x12\x34\x56\x78\x9a\xbc\xde\xf0\x12\x34\x56\x78\x9a\xbc\xde\xf0"
