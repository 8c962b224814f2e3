package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/dhcpd"
)

// fillRoot copies into root every boot loader of loaders that root lacks
// and this system has (installed by its Debian package), and returns the
// names it copied. It never replaces a file of the root. Copies, not
// symbolic links: the boot root serves no link that leaves it.
func fillRoot(root string, loaders []boot.Loader) ([]string, error) {
	var copied []string
	var errs []error
	for _, l := range loaders {
		dst := filepath.Join(root, l.Name)
		if _, err := os.Lstat(dst); err == nil || !errors.Is(err, fs.ErrNotExist) {
			continue // there, or not ours to decide
		}
		if err := copyNew(l.Path, dst); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		copied = append(copied, l.Name)
	}
	return copied, errors.Join(errs...)
}

// copyNew copies the regular file src to dst, which must not exist, by way
// of a temporary file, so that a client never reads half a loader.
func copyNew(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if st, err := in.Stat(); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file: %w", src, fs.ErrNotExist)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*")
	if err != nil {
		return fmt.Errorf("copying %s into the boot root: %w", src, err)
	}
	_, err = io.Copy(tmp, in)
	err = errors.Join(err, tmp.Chmod(0o644), tmp.Close())
	if err == nil {
		if _, e := os.Lstat(dst); e == nil {
			err = fmt.Errorf("%s appeared meanwhile", dst) // someone else's: keep it
		} else {
			err = os.Rename(tmp.Name(), dst)
		}
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("copying %s into the boot root: %w", src, err)
	}
	return nil
}

// clientKind is a kind of network-boot client, as DHCP tells it.
type clientKind struct {
	name string
	pxe  dhcpd.PXE
}

// clientKinds are the kinds of client the start-up lines report on.
var clientKinds = []clientKind{
	{"BIOS PXE", dhcpd.PXE{Class: dhcpd.ClassPXE, Arch: iana.INTEL_X86PC, HasArch: true}},
	{"BIOS iPXE", dhcpd.PXE{Class: dhcpd.ClassPXE, Arch: iana.INTEL_X86PC, HasArch: true, IPXE: true}},
	{"UEFI PXE", dhcpd.PXE{Class: dhcpd.ClassPXE, Arch: iana.EFI_X86_64, HasArch: true}},
	{"UEFI iPXE", dhcpd.PXE{Class: dhcpd.ClassPXE, Arch: iana.EFI_X86_64, HasArch: true, IPXE: true}},
	{"UEFI HTTP", dhcpd.PXE{Class: dhcpd.ClassHTTP, Arch: iana.EFI_X86_64_HTTP, HasArch: true}},
}

// bootCheck is what the boot services can offer the kinds of client.
type bootCheck struct {
	root           string
	table          *dhcpd.BootTable
	server         netip.Addr
	tftpOn, httpOn bool
	httpBase       string // the HTTP boot root's URL, "{server}" in it
}

// clients returns the kinds of client that boot, each with the file DHCP
// gives it, and those that cannot, each with why and the fix.
func (c bootCheck) clients() (boots, cannot []string) {
	for _, k := range clientKinds {
		file := c.table.Lookup(k.pxe, pxelator.Machine{}, c.server)
		if why := c.why(file, k.pxe.Arch); why != "" {
			cannot = append(cannot, k.name+": "+why)
		} else {
			boots = append(boots, k.name+" ("+file+")")
		}
	}
	return boots, cannot
}

// why says why a client given file cannot boot it, or "" when it can.
func (c bootCheck) why(file string, arch iana.Arch) string {
	if file == "" {
		return fmt.Sprintf("DHCP names no boot file for it (-boot-file %d=FILE)", arch)
	}
	name := file
	if strings.Contains(file, "://") {
		base := strings.ReplaceAll(c.httpBase, "{server}", c.server.String())
		rel, ours := strings.CutPrefix(file, base)
		switch {
		case !ours:
			return "" // served by another server
		case !c.httpOn:
			return file + " needs HTTP (-http)"
		case strings.HasSuffix(rel, ".ipxe"):
			return "" // a script: the default profile always answers
		}
		name = rel
	} else if !c.tftpOn {
		return file + " needs TFTP (-tftp)"
	}
	var missing []string
	for _, n := range append([]string{name}, needs(name)...) {
		if !isFile(filepath.Join(c.root, n)) {
			missing = append(missing, n+missingFrom(n))
		}
	}
	if len(missing) > 0 {
		return strings.Join(missing, ", ") + " not in " + c.root
	}
	return ""
}

// needs returns the files the loader name loads from the root.
func needs(name string) []string {
	if l, ok := boot.LoaderFor(name); ok {
		return l.Needs
	}
	return nil
}

// missingFrom says where a missing file comes from: " (copy PATH)" for a
// loader installed here, " (apt-get install PACKAGE)" for one that is not,
// "" for other files.
func missingFrom(name string) string {
	if l, ok := boot.LoaderFor(name); ok {
		if isFile(l.Path) {
			return " (copy " + l.Path + ")"
		}
		return " (apt-get install " + l.Package + ")"
	}
	return ""
}

func isFile(name string) bool {
	st, err := os.Stat(name)
	return err == nil && st.Mode().IsRegular()
}

// describeRoot says, for the start-up lines, what was copied into the
// boot root, which kinds of client boot, and which cannot and why.
func describeRoot(c bootCheck, copied []string) []string {
	var lines []string
	if len(copied) > 0 {
		lines = append(lines, "copied into "+c.root+" from this system's packages: "+strings.Join(copied, " "))
	}
	boots, cannot := c.clients()
	if len(boots) > 0 {
		lines = append(lines, "boots "+strconv.Itoa(len(boots))+" of "+strconv.Itoa(len(clientKinds))+" kinds of client: "+strings.Join(boots, ", "))
	}
	for _, l := range cannot {
		lines = append(lines, "cannot boot "+l)
	}
	return lines
}
