package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The initramfs the QEMU boots end in prints these lines on the serial
// console, in this order.
const (
	markerUp    = "PXELATOR-MARKER up"   // the initramfs runs: the boot time is taken here
	markerLease = "PXELATOR-LEASE "      // ip=... hostname=... server=... logsrv=...
	markerTFTP  = "PXELATOR-TFTP "       // the content of marker.txt, fetched over TFTP
	markerSent  = "PXELATOR-SYSLOG-SENT" // the syslog line went to the receiver
	markerDone  = "PXELATOR-DONE"        // it powers off next
	syslogText  = "PXELATOR-SYSLOG"      // in the syslog line it sends
)

// netModules are the kernel modules of the network cards the boots use
// (e1000 for BIOS, virtio-net for OVMF) and what they depend on; the
// initramfs loads them in the order their modinfo asks for.
var netModules = []string{"e1000", "virtio_net", "virtio_pci", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
	"virtio", "virtio_ring", "net_failover", "failover"}

// initScript is the initramfs's /init: busybox sets itself up, the
// marker says the kernel booted, then it asks DHCP for an address again
// (and the syslog server, option 7), sends a syslog line to the server
// DHCP names (else to the DHCP server: dnsmasq names none), fetches
// marker.txt over TFTP and powers off.
const initScript = `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
echo ` + markerUp + `
for m in $(cat /etc/modules); do insmod /lib/modules/$m.ko; done
ip link set lo up; ip link set eth0 up
udhcpc -i eth0 -n -q -f -t 10 -T 2 -O 7 -s /udhcpc.sh || echo PXELATOR-FAIL udhcpc
[ -f /tmp/lease ] && . /tmp/lease
echo "` + markerLease + `ip=$ip hostname=$hostname server=$serverid logsrv=$logsrv"
syslogd -R "${logsrv:-$serverid}:514" && sleep 1 && logger -t initramfs "` + syslogText + ` from ${hostname:-nobody} at $ip" && sleep 1 && echo ` + markerSent + `
tftp -g -r marker.txt -l /tmp/marker "$serverid" && echo "` + markerTFTP + `$(cat /tmp/marker)"
echo ` + markerDone + `
poweroff -f
`

// udhcpcScript configures the address udhcpc got and keeps the lease's
// variables for /init. This busybox has no name for option 7 (the
// syslog server): it passes it as opt7, in hex.
const udhcpcScript = `#!/bin/sh
case "$1" in bound|renew)
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}"
	[ -n "$opt7" ] && logsrv=$(printf '%d.%d.%d.%d' $(echo "$opt7" | cut -c1-8 | sed 's/../0x& /g'))
	{ echo "ip='$ip'"; echo "hostname='$hostname'"; echo "serverid='$serverid'"; echo "logsrv='$logsrv'"; } > /tmp/lease ;;
esac
`

// bootImages are the kernel and the initramfs the QEMU boots end in.
type bootImages struct {
	kernel, initrd string // paths
	version        string // the kernel's, for the log
}

// buildImages builds the kernel and initramfs into dir from Debian
// packages: linux-image-amd64's kernel (downloaded with apt-get download
// and unpacked with dpkg-deb; the .deb is kept in the user's cache
// directory for the next run) and busybox-static's busybox. It skips t
// when a tool is missing or apt-get cannot download.
func buildImages(t *testing.T, dir string) bootImages {
	t.Helper()
	busybox, err := os.ReadFile("/bin/busybox")
	if err != nil || !isStatic(busybox) {
		t.Skip("a static /bin/busybox is needed for the initramfs (Debian: busybox-static)")
	}
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the kernel comes from Debian's linux-image-amd64", tool)
		}
	}
	deb := kernelDeb(t)
	kernel, version, mods, err := unpackKernel(deb, netModules)
	if err != nil {
		t.Fatalf("unpacking %s: %v", deb, err)
	}
	order, err := moduleOrder(mods)
	if err != nil {
		t.Fatal(err)
	}
	files := []cpioFile{
		{name: "bin", mode: 0o40755}, {name: "dev", mode: 0o40755}, {name: "dev/console", mode: 0o20600, rdev: [2]int{5, 1}},
		{name: "etc", mode: 0o40755}, {name: "lib", mode: 0o40755}, {name: "lib/modules", mode: 0o40755},
		{name: "proc", mode: 0o40755}, {name: "sys", mode: 0o40755}, {name: "tmp", mode: 0o41777},
		{name: "bin/busybox", mode: 0o100755, data: busybox},
		{name: "init", mode: 0o100755, data: []byte(initScript)},
		{name: "udhcpc.sh", mode: 0o100755, data: []byte(udhcpcScript)},
		{name: "etc/modules", mode: 0o100644, data: []byte(strings.Join(order, "\n") + "\n")},
	}
	for _, m := range order {
		files = append(files, cpioFile{name: "lib/modules/" + m + ".ko", mode: 0o100644, data: mods[m]})
	}
	var initrd bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&initrd, gzip.BestSpeed)
	if err := writeCPIO(zw, files); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	img := bootImages{kernel: filepath.Join(dir, "vmlinuz"), initrd: filepath.Join(dir, "initrd.gz"), version: version}
	if err := os.WriteFile(img.kernel, kernel, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img.initrd, initrd.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return img
}

// isStatic reports whether b is an ELF executable without an interpreter.
func isStatic(b []byte) bool {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return false
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

// kernelDeb returns the .deb of the kernel linux-image-amd64 depends on,
// from the cache or downloaded, and skips t when apt-get cannot get it.
func kernelDeb(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").CombinedOutput()
	pkg := regexp.MustCompile(`Depends: (linux-image-[0-9][^\s]*-amd64)`).FindSubmatch(out)
	if err != nil || pkg == nil {
		t.Skipf("apt-cache knows no linux-image-amd64 (run apt-get update): %v %s", err, out)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	cache = filepath.Join(cache, "pxelator-test")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	find := func() string {
		debs, _ := filepath.Glob(filepath.Join(cache, string(pkg[1])+"_*_amd64.deb"))
		if len(debs) == 0 {
			return ""
		}
		return debs[len(debs)-1]
	}
	if deb := find(); deb != "" {
		return deb
	}
	get := exec.Command("apt-get", "download", "-q", string(pkg[1]))
	get.Dir = cache
	if out, err := get.CombinedOutput(); err != nil || find() == "" {
		t.Skipf("apt-get download %s failed (no network to the Debian mirror?): %v\n%s", pkg[1], err, out)
	}
	return find()
}

// unpackKernel reads the kernel image and the modules named (by module
// name, e1000 for e1000.ko) out of a linux-image .deb.
func unpackKernel(deb string, modules []string) (kernel []byte, version string, mods map[string][]byte, err error) {
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", nil, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, "", nil, err
	}
	defer cmd.Wait()
	mods = map[string][]byte{}
	tr := tar.NewReader(pipe)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, "", nil, fmt.Errorf("%w: %s", err, stderr.String())
		}
		name := strings.TrimPrefix(h.Name, "./")
		base := path.Base(name)
		switch {
		case h.Typeflag == tar.TypeReg && strings.HasPrefix(name, "boot/vmlinuz-"):
			version = strings.TrimPrefix(base, "vmlinuz-")
			kernel, err = io.ReadAll(tr)
		case h.Typeflag == tar.TypeReg && strings.HasPrefix(name, "lib/modules/") && slices.Contains(modules, strings.TrimSuffix(base, ".ko")):
			mods[strings.TrimSuffix(base, ".ko")], err = io.ReadAll(tr)
		}
		if err != nil {
			return nil, "", nil, err
		}
	}
	io.Copy(io.Discard, pipe)
	if kernel == nil {
		return nil, "", nil, fmt.Errorf("no boot/vmlinuz-* in it")
	}
	return kernel, version, mods, nil
}

// moduleOrder returns the modules in an order insmod can load them: each
// after those its modinfo says it depends on.
func moduleOrder(mods map[string][]byte) ([]string, error) {
	deps := map[string][]string{}
	for name, b := range mods {
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", name, err)
		}
		sec := f.Section(".modinfo")
		if sec == nil {
			return nil, fmt.Errorf("module %s: no .modinfo (a compressed module?)", name)
		}
		info, err := sec.Data()
		if err != nil {
			return nil, fmt.Errorf("module %s: %w", name, err)
		}
		for kv := range bytes.SplitSeq(info, []byte{0}) {
			if d, ok := bytes.CutPrefix(kv, []byte("depends=")); ok && len(d) > 0 {
				deps[name] = strings.Split(string(d), ",")
			}
		}
	}
	var order []string
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(string) error
	visit = func(m string) error {
		switch state[m] {
		case 1:
			return fmt.Errorf("module %s depends on itself", m)
		case 2:
			return nil
		}
		if mods[m] == nil {
			return fmt.Errorf("module %s is needed but not in netModules", m)
		}
		state[m] = 1
		for _, d := range deps[m] {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[m] = 2
		order = append(order, m)
		return nil
	}
	for _, m := range slices.Sorted(maps.Keys(mods)) {
		if err := visit(m); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// cpioFile is one entry of a newc cpio archive.
type cpioFile struct {
	name string
	mode uint32 // file type and permissions, as in stat(2)
	rdev [2]int // major, minor of a device node
	data []byte
}

// writeCPIO writes files as the newc ("070701") cpio archive the kernel
// unpacks as an initramfs, with its trailer.
func writeCPIO(w io.Writer, files []cpioFile) error {
	pad := func(n int) []byte { return make([]byte, (4-n%4)%4) }
	for i, f := range append(files, cpioFile{name: "TRAILER!!!"}) {
		nlink := 1
		if f.mode&0o170000 == 0o40000 {
			nlink = 2
		}
		hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			i+1, f.mode, 0, 0, nlink, 0, len(f.data), 0, 0, f.rdev[0], f.rdev[1], len(f.name)+1, 0)
		var b bytes.Buffer
		b.WriteString(hdr)
		b.WriteString(f.name)
		b.WriteByte(0)
		b.Write(pad(len(hdr) + len(f.name) + 1))
		b.Write(f.data)
		b.Write(pad(len(f.data)))
		if _, err := w.Write(b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// TestWriteCPIO: busybox's cpio reads the archive writeCPIO writes: the
// names, the modes and the contents.
func TestWriteCPIO(t *testing.T) {
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed (Debian: busybox-static)")
	}
	var b bytes.Buffer
	files := []cpioFile{
		{name: "bin", mode: 0o40755},
		{name: "bin/hello", mode: 0o100755, data: []byte("#!/bin/sh\necho hi\n")},
		{name: "odd", mode: 0o100644, data: []byte("12345")},
		{name: "empty", mode: 0o100600},
	}
	if err := writeCPIO(&b, files); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(bb, "cpio", "-i", "-d")
	cmd.Dir, cmd.Stdin = dir, &b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("busybox cpio -i: %v\n%s", err, out)
	}
	for _, f := range files[1:] {
		st, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		got, _ := os.ReadFile(filepath.Join(dir, f.name))
		if !bytes.Equal(got, f.data) || uint32(st.Mode().Perm()) != f.mode&0o777 {
			t.Errorf("%s: %q mode %v, want %q %o", f.name, got, st.Mode(), f.data, f.mode&0o777)
		}
	}
}
