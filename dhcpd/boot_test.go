package dhcpd_test

import (
	"context"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/dhcpd/dhcptest"
	"github.com/pxelator/pxelator/memstore"
)

func TestBootTableLookup(t *testing.T) {
	server := netip.MustParseAddr("10.77.0.1")
	machine := func(attrs ...string) pxelator.Machine {
		m := pxelator.Machine{MAC: testMAC, IP: netip.MustParseAddr("10.77.0.100")}
		for i := 0; i+1 < len(attrs); i += 2 {
			m.Set(attrs[i], attrs[i+1])
		}
		return m
	}
	table := dhcpd.DefaultBootTable()
	table.Profiles = map[string]map[iana.Arch]string{"grub": {iana.EFI_X86_64: "grubx64.efi"}}
	tests := []struct {
		name string
		mods []dhcpv4.Modifier
		m    pxelator.Machine
		want string
	}{
		{"BIOS firmware", dhcptest.PXEFirmware(iana.INTEL_X86PC), machine(), "pxelinux.0"},
		{"plain client is BIOS", nil, machine(), "pxelinux.0"},
		{"UEFI x86-64", dhcptest.PXEFirmware(iana.EFI_X86_64), machine(), "ipxe.efi"},
		{"UEFI arm64", dhcptest.PXEFirmware(iana.EFI_ARM64), machine(), "ipxe-arm64.efi"},
		{"UEFI HTTP x86-64", dhcptest.HTTPBoot(iana.EFI_X86_64_HTTP), machine(), "http://10.77.0.1/ipxe.efi"},
		{"UEFI HTTP arm64", dhcptest.HTTPBoot(iana.EFI_ARM64_HTTP), machine(), "http://10.77.0.1/ipxe-arm64.efi"},
		{"iPXE ROM breaks the loop", dhcptest.IPXEBIOS(), machine(), "http://10.77.0.1/boot.ipxe"},
		{"iPXE beats a bootfile override", dhcptest.IPXEBIOS(), machine(dhcpd.AttrBootFile, "undionly.kpxe"), "http://10.77.0.1/boot.ipxe"},
		{"bootfile override", dhcptest.PXEFirmware(iana.EFI_X86_64), machine(dhcpd.AttrBootFile, "custom/{mac}.efi"), "custom/52:54:00:12:34:56.efi"},
		{"profile override", dhcptest.PXEFirmware(iana.EFI_X86_64), machine("profile", "grub"), "grubx64.efi"},
		{"profile without this arch", dhcptest.PXEFirmware(iana.INTEL_X86PC), machine("profile", "grub"), "pxelinux.0"},
		{"netboot false", dhcptest.IPXEBIOS(), machine(pxelator.AttrNetboot, "false"), ""},
		{"unknown arch", dhcptest.PXEFirmware(iana.S390_BASIC), machine(), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := dhcpd.ClassifyPXE(discover(t, tt.mods...))
			if got := table.Lookup(x, tt.m, server); got != tt.want {
				t.Errorf("Lookup = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBootTableIPXELoopOff(t *testing.T) {
	table := &dhcpd.BootTable{Files: map[iana.Arch]string{iana.INTEL_X86PC: "undionly.kpxe"}}
	x := dhcpd.ClassifyPXE(discover(t, dhcptest.IPXEBIOS()...))
	if got := table.Lookup(x, pxelator.Machine{MAC: testMAC}, netip.MustParseAddr("10.0.0.1")); got != "undionly.kpxe" {
		t.Errorf("Lookup = %q, want undionly.kpxe", got)
	}
}

// TestBootReplies: what the OFFER carries for each kind of client, with
// the exact options the firmware sends.
func TestBootReplies(t *testing.T) {
	tests := []struct {
		name        string
		mods        []dhcpv4.Modifier
		file, class string
	}{
		{"iPXE ROM (QEMU)", dhcptest.IPXEBIOS(), "http://10.77.0.1/boot.ipxe", "PXEClient"},
		{"BIOS PXE ROM", dhcptest.PXEFirmware(iana.INTEL_X86PC), "pxelinux.0", "PXEClient"},
		{"UEFI x86-64 PXE", dhcptest.PXEFirmware(iana.EFI_X86_64), "ipxe.efi", "PXEClient"},
		{"UEFI arm64 PXE", dhcptest.PXEFirmware(iana.EFI_ARM64), "ipxe-arm64.efi", "PXEClient"},
		{"UEFI x86-64 HTTP boot", dhcptest.HTTPBoot(iana.EFI_X86_64_HTTP), "http://10.77.0.1/ipxe.efi", "HTTPClient"},
		{"plain DHCP client", nil, "pxelinux.0", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(t, memstore.New(), testConfig("10.77.0.100", "10.77.0.200"))
			p, _ := dhcpv4.NewDiscovery(macN(i), tt.mods...)
			w := &dhcptest.ResponseRecorder{}
			h.ServeDHCP(context.Background(), w, dhcptest.NewRequest(p))
			if len(w.Replies()) != 1 {
				t.Fatalf("%d replies", len(w.Replies()))
			}
			r := w.Replies()[0]
			if r.BootFileName != tt.file || r.ClassIdentifier() != tt.class || r.ServerIPAddr.String() != "10.77.0.1" {
				t.Errorf("file %q class %q siaddr %v, want %q %q 10.77.0.1", r.BootFileName, r.ClassIdentifier(), r.ServerIPAddr, tt.file, tt.class)
			}
		})
	}
}
