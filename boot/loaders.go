package boot

import "path"

// A Loader is a boot file that a Debian package installs: a network boot
// program, or a file one of them loads. [Loaders] lists those a boot root
// usually holds, so that a server can copy them into its root and name
// the package of a file a client asked for and the root lacks.
type Loader struct {
	Name    string // its name in the boot root
	Path    string // where the package installs it
	Package string // the Debian package that ships it
	// Needs are the files the loader loads from the boot root itself.
	Needs []string
}

// Loaders returns the boot files of Debian's packages, under the names
// clients and dhcpd's default boot table ask for: iPXE
// (package ipxe: undionly.kpxe for BIOS PXE ROMs, ipxe.efi and
// snponly.efi for UEFI, ipxe.lkrn for pxelinux to start iPXE), pxelinux
// (pxelinux, syslinux-common: pxelinux.0, ldlinux.c32 and the menu
// modules), GRUB for UEFI network boot (grub-efi-amd64-signed:
// grubx64.efi) and shim (shim-signed: bootnetx64.efi, which loads
// grubx64.efi under Secure Boot). It returns a new slice on every call.
func Loaders() []Loader {
	const (
		ipxe   = "/usr/lib/ipxe/"
		bios   = "/usr/lib/syslinux/modules/bios/"
		common = "syslinux-common"
	)
	return []Loader{
		{Name: "undionly.kpxe", Path: ipxe + "undionly.kpxe", Package: "ipxe"},
		{Name: "ipxe.efi", Path: ipxe + "ipxe.efi", Package: "ipxe"},
		{Name: "snponly.efi", Path: ipxe + "snponly.efi", Package: "ipxe"},
		{Name: "ipxe.lkrn", Path: ipxe + "ipxe.lkrn", Package: "ipxe"},
		{Name: "pxelinux.0", Path: "/usr/lib/PXELINUX/pxelinux.0", Package: "pxelinux", Needs: []string{"ldlinux.c32"}},
		{Name: "lpxelinux.0", Path: "/usr/lib/PXELINUX/lpxelinux.0", Package: "pxelinux", Needs: []string{"ldlinux.c32"}},
		{Name: "ldlinux.c32", Path: bios + "ldlinux.c32", Package: common},
		{Name: "libutil.c32", Path: bios + "libutil.c32", Package: common},
		{Name: "libcom32.c32", Path: bios + "libcom32.c32", Package: common},
		{Name: "menu.c32", Path: bios + "menu.c32", Package: common, Needs: []string{"libutil.c32", "libcom32.c32"}},
		{Name: "vesamenu.c32", Path: bios + "vesamenu.c32", Package: common, Needs: []string{"libutil.c32", "libcom32.c32"}},
		{Name: "chain.c32", Path: bios + "chain.c32", Package: common, Needs: []string{"libutil.c32", "libcom32.c32"}},
		{Name: "grubx64.efi", Path: "/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", Package: "grub-efi-amd64-signed"},
		{Name: "bootnetx64.efi", Path: "/usr/lib/shim/shimx64.efi.signed", Package: "shim-signed", Needs: []string{"grubx64.efi"}},
	}
}

// LoaderFor returns the loader of Loaders whose name is the base name of
// name ("bios/ldlinux.c32" is ldlinux.c32), and whether there is one.
func LoaderFor(name string) (Loader, bool) {
	base := path.Base(name)
	for _, l := range Loaders() {
		if l.Name == base {
			return l, true
		}
	}
	return Loader{}, false
}
