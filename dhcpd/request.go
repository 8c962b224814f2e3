package dhcpd

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// Request is one DHCP or BOOTP request as received by a [Server].
type Request struct {
	// Packet is the decoded request.
	Packet *dhcpv4.DHCPv4
	// Peer is the address and port the packet came from.
	Peer netip.AddrPort
	// Local is the address the packet was sent to (a broadcast address
	// for most requests) and the port it arrived on. The address is
	// invalid when the socket does not report it.
	Local netip.AddrPort
	// IfIndex and IfName name the interface the packet arrived on; they
	// are 0 and "" when the socket does not report it.
	IfIndex int
	IfName  string
	// Relay is the relay agent's address (giaddr); invalid when the
	// request was not relayed.
	Relay netip.Addr
	// RelayInfo holds the relay agent information sub-options (option
	// 82), or nil.
	RelayInfo *dhcpv4.RelayOptions
	// BOOTP reports a BOOTP request: one without a DHCP message type
	// (option 53).
	BOOTP bool
	// PXE is the PXE classification of the client.
	PXE PXE
}

// MAC returns the client's hardware address (chaddr).
func (r *Request) MAC() net.HardwareAddr { return r.Packet.ClientHWAddr }

// Type returns the DHCP message type, or 0 for a BOOTP request.
func (r *Request) Type() dhcpv4.MessageType {
	if r.BOOTP {
		return 0
	}
	return r.Packet.MessageType()
}

// PXE is what a request tells about a network-booting client.
type PXE struct {
	// Class is the vendor class type from option 60: "PXEClient",
	// "HTTPClient" or "" for a client that is neither.
	Class string
	// Arch is the client system architecture: the first of option 93,
	// else the "Arch:" field of option 60. HasArch tells whether the
	// client sent one; when it did not, Arch is iana.INTEL_X86PC.
	Arch    iana.Arch
	HasArch bool
	// IPXE reports a client that already runs iPXE (user class "iPXE" in
	// option 77, or iPXE's option 175).
	IPXE bool
	// GUID is the client machine identifier from option 97 without its
	// type byte, or nil when absent or malformed.
	GUID []byte
}

// Vendor class types of option 60 that PXE clients send.
const (
	ClassPXE  = "PXEClient"
	ClassHTTP = "HTTPClient"
)

// IsPXE reports whether the client is a PXE or UEFI HTTP boot client.
func (p PXE) IsPXE() bool { return p.Class != "" }

// IsHTTP reports whether the client boots over HTTP: it says HTTPClient or
// sends one of the HTTP boot architectures of RFC 4578's registry.
func (p PXE) IsHTTP() bool { return p.Class == ClassHTTP || (p.HasArch && httpArch(p.Arch)) }

func httpArch(a iana.Arch) bool {
	switch a {
	case iana.EFI_X86_HTTP, iana.EFI_X86_64_HTTP, iana.EFI_BC_HTTP, iana.EFI_ARM32_HTTP,
		iana.EFI_ARM64_HTTP, iana.INTEL_X86PC_HTTP, iana.UBOOT_ARM32_HTTP, iana.UBOOT_ARM64_HTTP,
		iana.EFI_RISCV32_HTTP, iana.EFI_RISCV64_HTTP, iana.EFI_RISCV128_HTTP:
		return true
	}
	return false
}

// ClassifyPXE returns the PXE classification of p. It never fails:
// malformed PXE options are treated as absent.
func ClassifyPXE(p *dhcpv4.DHCPv4) PXE {
	var x PXE
	vc := p.ClassIdentifier()
	switch {
	case strings.HasPrefix(vc, ClassPXE):
		x.Class = ClassPXE
	case strings.HasPrefix(vc, ClassHTTP):
		x.Class = ClassHTTP
	}
	if archs := p.ClientArch(); len(archs) > 0 {
		x.Arch, x.HasArch = archs[0], true
	} else if x.Class != "" {
		x.Arch, x.HasArch = archFromClass(vc)
	}
	x.IPXE = ipxeUserClass(p.Options.Get(dhcpv4.OptionUserClassInformation)) || p.Options.Has(dhcpv4.OptionEtherboot)
	if g := p.Options.Get(dhcpv4.OptionClientMachineIdentifier); len(g) == 17 && g[0] == 0 {
		x.GUID = g[1:]
	}
	return x
}

// archFromClass parses the "Arch:00007" field of a PXE vendor class.
func archFromClass(vc string) (iana.Arch, bool) {
	f := strings.Split(vc, ":")
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "Arch" {
			n, err := strconv.ParseUint(f[i+1], 10, 16)
			if err == nil {
				return iana.Arch(n), true
			}
		}
	}
	return iana.INTEL_X86PC, false
}

// maxPacket is the largest request accepted; larger ones are dropped as
// oversized (RFC 2131 clients send at most what fits an Ethernet frame
// unless they announce more with option 57).
const maxPacket = 4096

// ParseRequest decodes the bytes of one request. It rejects what a server
// must not answer: replies (op code 2), truncated packets, lying option
// lengths, hardware address lengths over 16 or of zero. A BOOTP request
// without the RFC 1497 magic cookie is accepted with no options.
func ParseRequest(b []byte) (*Request, error) {
	if len(b) > maxPacket {
		return nil, fmt.Errorf("dhcpd: oversized packet of %d bytes", len(b))
	}
	const fixed = 236 // the BOOTP header before the magic cookie
	if len(b) < fixed {
		return nil, fmt.Errorf("dhcpd: truncated packet of %d bytes", len(b))
	}
	if b[0] != byte(dhcpv4.OpcodeBootRequest) {
		return nil, fmt.Errorf("dhcpd: op code %d is not a request", b[0])
	}
	if b[2] == 0 || b[2] > 16 {
		return nil, fmt.Errorf("dhcpd: bad hardware address length %d", b[2])
	}
	cookie := len(b) >= fixed+4 && b[fixed] == 99 && b[fixed+1] == 130 && b[fixed+2] == 83 && b[fixed+3] == 99
	if !cookie {
		// RFC 951 BOOTP: a vendor area that is not RFC 1497 options.
		c := make([]byte, fixed+5)
		copy(c, b[:fixed])
		copy(c[fixed:], []byte{99, 130, 83, 99, 255})
		b = c
	}
	p, err := dhcpv4.FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("dhcpd: malformed packet: %w", err)
	}
	r := &Request{Packet: p, PXE: ClassifyPXE(p)}
	r.BOOTP = !p.Options.Has(dhcpv4.OptionDHCPMessageType)
	if !r.BOOTP {
		if t := p.MessageType(); t < dhcpv4.MessageTypeDiscover || t > dhcpv4.MessageTypeInform {
			return nil, fmt.Errorf("dhcpd: bad message type %d", t)
		}
	}
	if ip, ok := netip.AddrFromSlice(p.GatewayIPAddr.To4()); ok && !ip.IsUnspecified() {
		r.Relay = ip
		r.RelayInfo = p.RelayAgentInfo()
	}
	return r, nil
}

// ipxeUserClass reports whether option 77 names iPXE: as a plain string,
// as iPXE sends it, or as one of the user classes of RFC 3004.
func ipxeUserClass(v []byte) bool {
	if string(v) == "iPXE" {
		return true
	}
	for len(v) > 0 {
		n := int(v[0])
		if n == 0 || 1+n > len(v) {
			return false
		}
		if string(v[1:1+n]) == "iPXE" {
			return true
		}
		v = v[1+n:]
	}
	return false
}
