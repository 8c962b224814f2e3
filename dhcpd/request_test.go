package dhcpd_test

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/dhcpd/dhcptest"
)

var testMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

func discover(t testing.TB, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	t.Helper()
	p, err := dhcpv4.NewDiscovery(testMAC, mods...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClassifyPXE(t *testing.T) {
	guid := []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	tests := []struct {
		name string
		mods []dhcpv4.Modifier
		want dhcpd.PXE
		http bool
	}{
		{"plain client", nil, dhcpd.PXE{}, false},
		{"iPXE ROM in QEMU", dhcptest.IPXEBIOS(),
			dhcpd.PXE{Class: dhcpd.ClassPXE, Arch: iana.INTEL_X86PC, HasArch: true, IPXE: true, GUID: guid}, false},
		{"UEFI x86-64 firmware", dhcptest.PXEFirmware(iana.EFI_X86_64),
			dhcpd.PXE{Class: dhcpd.ClassPXE, Arch: iana.EFI_X86_64, HasArch: true, GUID: guid}, false},
		{"UEFI arm64 HTTP boot", dhcptest.HTTPBoot(iana.EFI_ARM64_HTTP),
			dhcpd.PXE{Class: dhcpd.ClassHTTP, Arch: iana.EFI_ARM64_HTTP, HasArch: true}, true},
		{"arch only in option 60", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:00007:UNDI:003016"))},
			dhcpd.PXE{Class: dhcpd.ClassPXE, Arch: iana.EFI_X86_64, HasArch: true}, false},
		{"garbage arch in option 60", []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient:Arch:x"))},
			dhcpd.PXE{Class: dhcpd.ClassPXE}, false},
		{"odd-length option 93 and short 97", []dhcpv4.Modifier{
			dhcpv4.WithOption(dhcpv4.OptClassIdentifier("PXEClient")),
			dhcpv4.WithGeneric(dhcpv4.OptionClientSystemArchitectureType, []byte{0}),
			dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, []byte{0, 1, 2})},
			dhcpd.PXE{Class: dhcpd.ClassPXE}, false},
		{"iPXE by RFC 3004 user class", []dhcpv4.Modifier{dhcpv4.WithUserClass("iPXE", true)},
			dhcpd.PXE{IPXE: true}, false},
		{"iPXE second of RFC 3004 user classes", []dhcpv4.Modifier{dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation,
			[]byte("\x04gPXE\x04iPXE"))}, dhcpd.PXE{IPXE: true}, false},
		{"another user class", []dhcpv4.Modifier{dhcpv4.WithUserClass("iPXE2", false)}, dhcpd.PXE{}, false},
		{"RFC 3004 user class whose length lies", []dhcpv4.Modifier{dhcpv4.WithGeneric(dhcpv4.OptionUserClassInformation,
			[]byte("\x09iPXE"))}, dhcpd.PXE{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dhcpd.ClassifyPXE(discover(t, tt.mods...))
			if got.Class != tt.want.Class || got.Arch != tt.want.Arch || got.HasArch != tt.want.HasArch ||
				got.IPXE != tt.want.IPXE || !bytes.Equal(got.GUID, tt.want.GUID) {
				t.Errorf("ClassifyPXE = %+v, want %+v", got, tt.want)
			}
			if got.IsHTTP() != tt.http {
				t.Errorf("IsHTTP = %v, want %v", got.IsHTTP(), tt.http)
			}
		})
	}
}

func TestParseRequestBadInput(t *testing.T) {
	good := discover(t).ToBytes()
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "truncated"},
		{"truncated header", good[:100], "truncated"},
		{"oversized", make([]byte, 5000), "oversized"},
		{"reply op code", mut(func(b []byte) []byte { b[0] = 2; return b }), "op code"},
		{"op code 7", mut(func(b []byte) []byte { b[0] = 7; return b }), "op code"},
		{"hlen 0", mut(func(b []byte) []byte { b[2] = 0; return b }), "hardware address length"},
		{"hlen 200", mut(func(b []byte) []byte { b[2] = 200; return b }), "hardware address length"},
		{"option length lies", append(good[:240:240], 53, 1, 1, 12, 200, 'a'), "malformed"},
		{"no end option", append(good[:240:240], 53, 1, 1), "malformed"},
		{"message type 99", append(good[:240:240], 53, 1, 99, 255), "message type"},
		{"empty message type", append(good[:240:240], 53, 0, 255), "message type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dhcpd.ParseRequest(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "dhcpd: ") {
				t.Errorf("ParseRequest error = %v, want one about %q", err, tt.want)
			}
		})
	}
}

func TestParseRequestBOOTP(t *testing.T) {
	b := discover(t).ToBytes()[:236] // RFC 951: no magic cookie
	b = append(b, make([]byte, 64)...)
	req, err := dhcpd.ParseRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if !req.BOOTP || req.Type() != 0 || req.MAC().String() != testMAC.String() {
		t.Errorf("BOOTP request = %+v, MAC %v", req, req.MAC())
	}
}

func TestParseRequestRelay(t *testing.T) {
	p := discover(t, dhcpv4.WithRelay(net.IPv4(10, 9, 0, 1)),
		dhcpv4.WithOption(dhcpv4.OptRelayAgentInfo(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(1), []byte("port7")))))
	req, err := dhcpd.ParseRequest(p.ToBytes())
	if err != nil {
		t.Fatal(err)
	}
	if req.Relay.String() != "10.9.0.1" {
		t.Errorf("Relay = %v", req.Relay)
	}
	if req.RelayInfo == nil || string(req.RelayInfo.Get(dhcpv4.GenericOptionCode(1))) != "port7" {
		t.Errorf("RelayInfo = %v", req.RelayInfo)
	}
}
