package dhcpd

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator"
)

// AttrBootFile is the machine attribute that, when set, overrides the
// boot file of the [BootTable] for that machine.
const AttrBootFile = "bootfile"

// BootTable chooses the boot file of a client. Values are TFTP paths, or
// http:// URLs for UEFI HTTP boot clients and iPXE scripts, in which
// {server}, {mac}, {ip}, {hostname}, {profile} and {arch} are replaced by
// the server address, the machine's MAC (with colons), IP, host name,
// profile and the client architecture number.
type BootTable struct {
	// Files maps a client architecture to its boot file.
	Files map[iana.Arch]string
	// Profiles maps a machine's profile to boot files by architecture
	// that take precedence over Files for machines of that profile.
	Profiles map[string]map[iana.Arch]string
	// IPXEScript is what a client that already runs iPXE gets instead of
	// an iPXE binary again ("" turns iPXE loop breaking off).
	IPXEScript string
}

// DefaultBootTable returns the boot table used when [Config].Boot is nil:
// pxelinux for BIOS, iPXE for UEFI (x86-64, IA32, arm64), iPXE over HTTP
// for UEFI HTTP boot, and the script http://{server}/boot.ipxe for iPXE.
func DefaultBootTable() *BootTable {
	return &BootTable{
		Files: map[iana.Arch]string{
			iana.INTEL_X86PC:     "pxelinux.0",
			iana.EFI_IA32:        "ipxe-i386.efi",
			iana.EFI_X86_64:      "ipxe.efi",
			iana.EFI_BC:          "ipxe.efi",
			iana.EFI_ARM64:       "ipxe-arm64.efi",
			iana.EFI_X86_64_HTTP: "http://{server}/ipxe.efi",
			iana.EFI_ARM64_HTTP:  "http://{server}/ipxe-arm64.efi",
		},
		IPXEScript: "http://{server}/boot.ipxe",
	}
}

// Lookup returns the boot file for a client classified as x that is
// machine m of the server at server, or "" when it gets none: a machine
// whose "netboot" attribute is "false", or an architecture the table does
// not know.
//
// The order is: iPXE loop breaking (a client running iPXE gets
// IPXEScript), the machine's "bootfile" attribute, the machine's profile
// in Profiles, then Files.
func (t *BootTable) Lookup(x PXE, m pxelator.Machine, server netip.Addr) string {
	if m.Get(pxelator.AttrNetboot) == "false" {
		return ""
	}
	var file string
	switch {
	case x.IPXE && t.IPXEScript != "":
		file = t.IPXEScript
	case m.Get(AttrBootFile) != "":
		file = m.Get(AttrBootFile)
	default:
		if p, ok := t.Profiles[m.Profile]; ok && m.Profile != "" {
			file = p[x.Arch]
		}
		if file == "" {
			file = t.Files[x.Arch]
		}
	}
	if file == "" || !strings.Contains(file, "{") {
		return file
	}
	return expand(file, func(name string) string {
		switch name {
		case "server":
			return server.String()
		case "mac":
			return m.MAC.String()
		case "ip":
			if m.IP.IsValid() {
				return m.IP.String()
			}
		case "hostname":
			return m.Hostname
		case "profile":
			return m.Profile
		case "arch":
			return strconv.Itoa(int(x.Arch))
		default:
			return "{" + name + "}"
		}
		return ""
	})
}

// expand replaces every {name} in s by value(name).
func expand(s string, value func(name string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s[i+1:], '}')
		if i < 0 || j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(value(s[i+1 : i+1+j]))
		s = s[i+j+2:]
	}
}
