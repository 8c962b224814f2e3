package boot_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/pxelator/pxelator/boot"
)

// FuzzCleanName checks that no name a client sends is turned into a path
// that leaves the root, and that per-machine name parsing never panics.
func FuzzCleanName(f *testing.F) {
	for _, s := range []string{
		"pxelinux.0", "/pxelinux.0", "../etc/passwd", "a/../../b", `..\x`, "%2e%2e/x", "..%2f",
		"pxelinux.cfg/01-52-54-00-12-34-56", "pxelinux.cfg/C0A8", "grub.cfg-01-aa-bb-cc-dd-ee-ff", "boot.ipxe",
		"a\x00b", "////", ".", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		boot.ParseMachineName(name)
		got, err := boot.CleanName(name)
		if err != nil {
			return
		}
		if got == "" || strings.HasPrefix(got, "/") || strings.ContainsAny(got, "\\\x00") {
			t.Fatalf("CleanName(%q) = %q", name, got)
		}
		for _, elem := range strings.Split(got, "/") {
			if elem == ".." || elem == "" {
				t.Fatalf("CleanName(%q) = %q", name, got)
			}
		}
		if n, ok := boot.ParseMachineName(got); ok {
			if n.Config == "" || n.MAC == nil && !n.IP.IsValid() && !n.ByClient {
				t.Fatalf("ParseMachineName(%q) = %+v: names no machine", got, n)
			}
			if n.IP.IsValid() && n.IP != netip.AddrFrom4(n.IP.As4()) {
				t.Fatalf("ParseMachineName(%q): IP %v is not IPv4", got, n.IP)
			}
		}
	})
}
