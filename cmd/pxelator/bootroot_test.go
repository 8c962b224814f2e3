package main

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxelator/pxelator/boot"
)

// TestFillRoot: the loaders this system has are copied into the root,
// byte for byte; a file already there is never replaced; one the system
// lacks is skipped.
func TestFillRoot(t *testing.T) {
	sys, root := t.TempDir(), t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(sys, "pxelinux.0"), "pxelinux from the package")
	write(filepath.Join(sys, "ldlinux.c32"), "ldlinux from the package")
	write(filepath.Join(root, "ldlinux.c32"), "the user's own")
	loaders := []boot.Loader{
		{Name: "pxelinux.0", Path: filepath.Join(sys, "pxelinux.0"), Package: "pxelinux"},
		{Name: "ldlinux.c32", Path: filepath.Join(sys, "ldlinux.c32"), Package: "syslinux-common"},
		{Name: "ipxe.efi", Path: filepath.Join(sys, "not-installed.efi"), Package: "ipxe"},
	}
	copied, err := fillRoot(root, loaders)
	if err != nil || strings.Join(copied, " ") != "pxelinux.0" {
		t.Fatalf("fillRoot = %v, %v; want [pxelinux.0]", copied, err)
	}
	for name, want := range map[string]string{"pxelinux.0": "pxelinux from the package", "ldlinux.c32": "the user's own"} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(root, "pxelinux.0")); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("pxelinux.0 mode %v, %v; want 0644", st.Mode(), err)
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 2 {
		t.Errorf("the root holds %d files, want 2 (no temporary file left)", len(ents))
	}
	if copied, err := fillRoot(root, loaders); err != nil || len(copied) != 0 {
		t.Errorf("second fillRoot = %v, %v; want nothing copied", copied, err)
	}
}

// TestBootClients: which kinds of client boot from what the root holds
// and which services are on, and which cannot, naming the file and the
// package.
func TestBootClients(t *testing.T) {
	tests := []struct {
		name         string
		root         []string
		tftp, http   bool
		boots        string // the kinds that boot
		cannotSubstr []string
	}{
		{"everything", []string{"pxelinux.0", "ldlinux.c32", "ipxe.efi"}, true, true,
			"BIOS PXE,BIOS iPXE,UEFI PXE,UEFI iPXE,UEFI HTTP", nil},
		{"empty root", nil, true, true, "BIOS iPXE,UEFI iPXE",
			[]string{"BIOS PXE: pxelinux.0 (", "ldlinux.c32 (", "UEFI PXE: ipxe.efi (", "UEFI HTTP: ipxe.efi ("}},
		{"pxelinux without ldlinux", []string{"pxelinux.0", "ipxe.efi"}, true, true, "BIOS iPXE,UEFI PXE,UEFI iPXE,UEFI HTTP",
			[]string{"BIOS PXE: ldlinux.c32 ("}},
		// Without HTTP iPXE gets the loader of its architecture, not a script.
		{"no HTTP", []string{"pxelinux.0", "ldlinux.c32", "ipxe.efi"}, true, false, "BIOS PXE,BIOS iPXE,UEFI PXE,UEFI iPXE",
			[]string{"UEFI HTTP: DHCP names no boot file for it (-boot-file 16=FILE)"}},
		{"no TFTP", []string{"pxelinux.0", "ldlinux.c32", "ipxe.efi"}, false, true, "BIOS iPXE,UEFI iPXE,UEFI HTTP",
			[]string{"BIOS PXE: pxelinux.0 needs TFTP", "UEFI PXE: ipxe.efi needs TFTP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, n := range tt.root {
				if err := os.WriteFile(filepath.Join(root, n), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			table := bootTable("http://{server}/boot/")
			if !tt.http {
				table = bootTable("")
			}
			c := bootCheck{root: root, table: table, server: netip.MustParseAddr("10.0.0.1"), tftpOn: tt.tftp, httpOn: tt.http, httpBase: "http://{server}/boot/"}
			boots, cannot := c.clients()
			var kinds []string
			for _, b := range boots {
				kinds = append(kinds, b[:strings.Index(b, " (")])
			}
			if strings.Join(kinds, ",") != tt.boots {
				t.Errorf("boots %v, want %s", boots, tt.boots)
			}
			all := strings.Join(cannot, "\n")
			for _, s := range tt.cannotSubstr {
				if !strings.Contains(all, s) {
					t.Errorf("cannot boot lines lack %q:\n%s", s, all)
				}
			}
			if len(cannot)+len(boots) != len(clientKinds) {
				t.Errorf("%d + %d lines for %d kinds", len(boots), len(cannot), len(clientKinds))
			}
		})
	}
	// A loader the system lacks names its package.
	if got := missingFrom("bootnetx64.efi"); got != " (apt-get install shim-signed)" && !strings.HasPrefix(got, " (copy ") {
		t.Errorf("missingFrom(bootnetx64.efi) = %q", got)
	}
}
