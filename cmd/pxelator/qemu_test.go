package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/sqlitestore"
	"github.com/pxelator/pxelator/internal/netnstest"
	"github.com/pxelator/pxelator/internal/syncbuf"
)

// Firmware and boot files the QEMU boots need, and their Debian packages.
var qemuNeeds = map[string]string{
	"/usr/lib/ipxe/qemu/pxe-e1000.rom":           "ipxe-qemu",
	"/usr/share/OVMF/OVMF_CODE_4M.fd":            "ovmf",
	"/usr/share/OVMF/OVMF_VARS_4M.fd":            "ovmf",
	"/usr/lib/ipxe/ipxe.efi":                     "ipxe",
	"/usr/lib/PXELINUX/pxelinux.0":               "pxelinux",
	"/usr/lib/syslinux/modules/bios/ldlinux.c32": "syslinux-common",
}

const (
	qemuServer  = "10.78.0.1" // the server's address on the bridge of each boot's namespace
	bootTimeout = 5 * time.Minute
	// cmdline is the kernel command line of every boot: the serial
	// console, and no IO-APIC timer check, which fails under TCG on a
	// busy host.
	cmdline = "console=ttyS0 no_timer_check quiet"
)

// A qemuMachine is a machine put in the store before it boots.
type qemuMachine struct {
	ip, hostname string
	attrs        map[string]string // profile, cmdline, once.*
}

// A bootWay is one way of booting a virtual machine from the reference
// server, and the same boot served by dnsmasq for comparison.
type bootWay struct {
	name     string
	firmware string // "bios", "uefi-pxe" or "uefi-http"
	mac      string
	machine  *qemuMachine        // nil: a machine the store does not know
	profiles map[string]string   // templates the test writes under profiles/
	root     map[string]string   // files the test writes into the boot root
	classic  bool                // the test copies the classic pxelinux layout into the root
	menu     bool                // the boot ends in the default profile's menu, not in the initramfs
	files    map[string][]string // package -> files the audit must show sent to the machine
	second   string              // what the second boot ends with: markerDone (its address again) or a console line
	after    func(t *testing.T, conf string, ip string)
	dnsmasq  []string          // dnsmasq's flags for the same boot, beyond the common ones
	peerRoot map[string]string // what dnsmasq's root holds beyond the kernel, initramfs and marker.txt
	peerHTTP bool              // the peer boot needs an HTTP server beside dnsmasq
}

// pxelinuxCfg is a pxelinux configuration booting the kernel and
// initramfs of the root over TFTP.
var pxelinuxCfg = "DEFAULT linux\nPROMPT 0\nLABEL linux\n\tKERNEL vmlinuz\n\tINITRD initrd.gz\n\tAPPEND initrd=initrd.gz " + cmdline + "\n"

// ipxeScript boots the kernel and initramfs of the peer's HTTP root.
var ipxeScript = "#!ipxe\nkernel http://" + qemuServer + "/vmlinuz initrd=initrd.gz " + cmdline + "\ninitrd http://" + qemuServer + "/initrd.gz\nboot\n"

func linuxMachine(ip, hostname, profile string) *qemuMachine {
	return &qemuMachine{ip: ip, hostname: hostname, attrs: map[string]string{"profile": profile, "cmdline": cmdline}}
}

// tftpProfile is a profile of the test with only a pxelinux.cfg: iPXE
// clients get the default profile's script, which chains pxelinux.0,
// which gets this configuration.
var tftpProfile = map[string]string{"tftp-linux/pxelinux.cfg": "# PXElator test profile: kernel and initramfs over TFTP\n" +
	"DEFAULT linux\nPROMPT 0\nLABEL linux\n\tKERNEL vmlinuz\n\tINITRD initrd.gz\n\tAPPEND initrd=initrd.gz {{.Attr \"cmdline\"}}\n"}

var bootWays = []bootWay{
	{
		name: "BIOS-iPXE-pxelinux-TFTP", firmware: "bios", mac: "52:54:00:78:00:01",
		machine:  linuxMachine("10.78.0.121", "bios-pxelinux", "tftp-linux"),
		profiles: tftpProfile,
		files: map[string][]string{
			"boot":  {"boot.ipxe"},
			"tftpd": {"pxelinux.0", "ldlinux.c32", "pxelinux.cfg/01-52-54-00-78-00-01", "vmlinuz", "initrd.gz", "marker.txt"},
		},
		second:   markerDone,
		dnsmasq:  []string{"--dhcp-boot=pxelinux.0"},
		peerRoot: map[string]string{"pxelinux.cfg/default": pxelinuxCfg},
	},
	{
		name: "BIOS-iPXE-script-HTTP", firmware: "bios", mac: "52:54:00:78:00:02",
		machine: linuxMachine("10.78.0.122", "bios-ipxe", "linux"),
		files: map[string][]string{
			"boot":  {"boot.ipxe", "vmlinuz", "initrd.gz"},
			"tftpd": {"marker.txt"},
		},
		second:   markerDone,
		dnsmasq:  []string{"--dhcp-userclass=set:ipxe,iPXE", "--dhcp-boot=tag:ipxe,http://" + qemuServer + "/boot.ipxe"},
		peerRoot: map[string]string{"boot.ipxe": ipxeScript},
		peerHTTP: true,
	},
	{
		name: "UEFI-PXE-ipxe.efi-HTTP", firmware: "uefi-pxe", mac: "52:54:00:78:00:03",
		machine: linuxMachine("10.78.0.123", "uefi-pxe", "linux"),
		files: map[string][]string{
			"boot":  {"boot.ipxe", "vmlinuz", "initrd.gz"},
			"tftpd": {"ipxe.efi", "marker.txt"},
		},
		second: markerDone,
		dnsmasq: []string{"--dhcp-userclass=set:ipxe,iPXE", "--dhcp-match=set:efi,option:client-arch,7",
			"--dhcp-boot=tag:ipxe,http://" + qemuServer + "/boot.ipxe", "--dhcp-boot=tag:!ipxe,tag:efi,ipxe.efi"},
		peerRoot: map[string]string{"boot.ipxe": ipxeScript},
		peerHTTP: true,
	},
	{
		name: "UEFI-HTTP-boot", firmware: "uefi-http", mac: "52:54:00:78:00:04",
		machine: linuxMachine("10.78.0.124", "uefi-http", "linux"),
		files: map[string][]string{
			"boot":  {"ipxe.efi", "boot.ipxe", "vmlinuz", "initrd.gz"},
			"tftpd": {"marker.txt"},
		},
		second: markerDone,
		dnsmasq: []string{"--dhcp-userclass=set:ipxe,iPXE", "--dhcp-vendorclass=set:http,HTTPClient",
			"--dhcp-option-force=tag:http,60,HTTPClient",
			"--dhcp-boot=tag:ipxe,http://" + qemuServer + "/boot.ipxe", "--dhcp-boot=tag:!ipxe,tag:http,http://" + qemuServer + "/ipxe.efi"},
		peerRoot: map[string]string{"boot.ipxe": ipxeScript},
		peerHTTP: true,
	},
	{
		// The newcomer's boot: the classic layout every howto writes, a
		// machine nobody told the server about, the server without flags.
		name: "no-profile-classic-layout", firmware: "bios", mac: "52:54:00:78:00:05",
		classic: true,
		root:    map[string]string{"pxelinux.cfg/default": pxelinuxCfg},
		files: map[string][]string{
			"boot":  {"boot.ipxe"},
			"tftpd": {"pxelinux.0", "ldlinux.c32", "pxelinux.cfg/default", "vmlinuz", "initrd.gz", "marker.txt"},
		},
		dnsmasq:  []string{"--dhcp-boot=pxelinux.0"}, // "boots at once from dnsmasq with one flag"
		peerRoot: map[string]string{"pxelinux.cfg/default": pxelinuxCfg},
	},
	{
		// A machine nobody told the server about and a root without a
		// configuration: the default profile's menu, which boots local
		// after 10 s; without a disk iPXE exits to the BIOS.
		name: "no-profile-menu", firmware: "bios", mac: "52:54:00:78:00:07",
		menu:  true,
		files: map[string][]string{"boot": {"boot.ipxe"}},
	},
	{
		// Once into tftp-linux, whose configuration pxelinux fetches after
		// iPXE fetched the script: two requests of one boot. The next boot
		// is the local disk.
		name: "once", firmware: "bios", mac: "52:54:00:78:00:06",
		machine: &qemuMachine{ip: "10.78.0.126", hostname: "once-box", attrs: map[string]string{
			"profile": "once", "once.profile": "tftp-linux", "once.window": "15s", "cmdline": cmdline}},
		profiles: tftpProfile,
		files: map[string][]string{
			"boot":  {"boot.ipxe"},
			"tftpd": {"pxelinux.0", "pxelinux.cfg/01-52-54-00-78-00-06", "vmlinuz", "initrd.gz", "marker.txt"},
		},
		second: "once-box boots from the local disk (profile local)",
		after: func(t *testing.T, conf, ip string) {
			dir := filepath.Join(conf, qemuServer, ip)
			if b, _ := os.ReadFile(filepath.Join(dir, "profile")); strings.TrimSpace(string(b)) != "local" {
				t.Errorf("after the once boot, %s/profile = %q, want local", dir, b)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "once.booted")); len(bytes.TrimSpace(b)) == 0 {
				t.Errorf("after the once boot, %s/once.booted is empty", dir)
			}
		},
	},
}

// TestQEMUBoot boots virtual machines' real firmware from the reference
// server, started without flags in a network namespace of its own with a
// bridge and a tap, into a Linux kernel and a busybox initramfs built from
// Debian packages. Each boot must print the initramfs marker, get the
// address and the host name of the store again with udhcpc, send a syslog
// line, fetch a file over TFTP, and leave the machine on disk and audit
// events of dhcpd, tftpd or boot (HTTP), and syslogd for it; a second
// boot gets the same address. The same boot is then served by dnsmasq
// (and net/http for HTTP), and the seconds from QEMU's start to the
// marker are logged side by side: a benchmark, never an assertion.
func TestQEMUBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots virtual machines (about 5 minutes)")
	}
	netnstest.Need(t) // a namespace with a bridge and a tap
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian: qemu-system-x86 ipxe-qemu)")
	}
	for f, pkg := range qemuNeeds {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("%s not installed (Debian: %s)", f, pkg)
		}
	}
	lab := &qemuLab{qemu: qemu, slots: make(chan struct{}, 2)} // 2 cores: 2 VMs at once
	if lab.dnsmasq, err = exec.LookPath("dnsmasq"); err != nil {
		t.Log("dnsmasq not installed (Debian: dnsmasq-base): no comparison")
	}
	shared := t.TempDir()
	lab.bin = buildServer(t)
	lab.img = buildImages(t, shared)
	t.Logf("kernel %s, initramfs %s", lab.img.version, lab.img.initrd)

	t.Run("boot", func(t *testing.T) {
		for _, w := range bootWays {
			t.Run(w.name, func(t *testing.T) {
				t.Parallel()
				lab.run(t, w)
			})
		}
	})
	lab.mu.Lock()
	defer lab.mu.Unlock()
	for _, l := range lab.bench {
		t.Log(l)
	}
}

// qemuLab is what the boots share: the server binary, the kernel and
// initramfs, and the slots for virtual machines.
type qemuLab struct {
	bin, qemu, dnsmasq string
	img                bootImages
	slots              chan struct{}

	mu    sync.Mutex
	bench []string // the benchmark lines
}

// run boots w twice from the reference server and once from dnsmasq.
func (lab *qemuLab) run(t *testing.T, w bootWay) {
	ns := netnstest.New(t, "pxq")
	ns.BridgeTap(t, "br0", netip.MustParsePrefix(qemuServer+"/24"), "tap0")
	dir := t.TempDir()
	root := filepath.Join(dir, "tftpboot")
	marker := "hello from pxelator to " + w.name
	lab.root(t, root, marker)
	for name, text := range w.root {
		writeFile(t, filepath.Join(root, name), text)
	}
	if w.classic {
		copyFile(t, "/usr/lib/PXELINUX/pxelinux.0", filepath.Join(root, "pxelinux.0"))
		copyFile(t, "/usr/lib/syslinux/modules/bios/ldlinux.c32", filepath.Join(root, "ldlinux.c32"))
	}
	for name, text := range w.profiles {
		writeFile(t, filepath.Join(dir, "profiles", name), text)
	}
	conf := filepath.Join(dir, "conf")
	if m := w.machine; m != nil { // as a person would: one file per value
		writeFile(t, filepath.Join(conf, qemuServer, m.ip, "mac"), w.mac+"\n")
		writeFile(t, filepath.Join(conf, qemuServer, m.ip, "hostname"), m.hostname+"\n")
		for k, v := range m.attrs {
			writeFile(t, filepath.Join(conf, qemuServer, m.ip, k), v+"\n")
		}
	}

	srv := lab.startServer(t, ns, dir)
	vm := lab.machine(t, w.firmware, w.mac, dir)
	if w.menu {
		lab.runMenu(t, w, srv, vm, dir)
		return
	}
	first := lab.boot(t, ns, vm, markerDone)
	lease := first.check(t, marker)
	if m := w.machine; m != nil && (lease.ip != m.ip || lease.hostname != m.hostname) {
		t.Errorf("lease %+v, want the store's address %s and host name %s", lease, m.ip, m.hostname)
	}
	if lease.server != qemuServer || lease.logsrv != qemuServer {
		t.Errorf("lease %+v: want the DHCP server and the syslog server (option 7) %s", lease, qemuServer)
	}
	if !strings.HasPrefix(lease.ip, "10.78.0.1") {
		t.Fatalf("lease %+v: not an address of the range; console:\n%s", lease, tail(first.String(), 3000))
	}
	if b, err := os.ReadFile(filepath.Join(conf, qemuServer, lease.ip, "mac")); err != nil || strings.TrimSpace(string(b)) != w.mac {
		t.Errorf("conf/%s/%s/mac = %q, %v; want %s", qemuServer, lease.ip, b, err, w.mac)
	}
	var second *console
	if w.second != "" {
		second = lab.boot(t, ns, vm, w.second)
		if w.second == markerDone {
			if again := second.check(t, marker); again.ip != lease.ip {
				t.Errorf("second boot got %s, the first %s", again.ip, lease.ip)
			}
		}
	}
	srv.stop(t)
	if t.Failed() {
		t.Logf("server output:\n%s", tail(srv.out.String(), 6000))
	}
	lab.checkAudit(t, filepath.Join(dir, "state", "audit.db"), w, lease.ip, true)
	if w.after != nil {
		w.after(t, conf, lease.ip)
	}

	line := fmt.Sprintf("%-26s pxelator %5.1f s", w.name, first.at(markerUp).Seconds())
	if second != nil && w.second == markerDone {
		line += fmt.Sprintf(" (again %5.1f s)", second.at(markerUp).Seconds())
	}
	if lab.dnsmasq != "" && w.dnsmasq != nil {
		peer := lab.bootPeer(t, ns, w, marker)
		line += fmt.Sprintf("   dnsmasq %5.1f s", peer.at(markerUp).Seconds())
	}
	t.Logf("seconds from QEMU start to the initramfs marker: %s", line)
	lab.mu.Lock()
	lab.bench = append(lab.bench, line)
	lab.mu.Unlock()
}

// runMenu boots a machine into the default profile's menu and checks
// that its default, local, runs and leaves iPXE when there is no disk,
// never going on to another profile.
func (lab *qemuLab) runMenu(t *testing.T, w bootWay, srv *qemuServerProc, vm []string, dir string) {
	c := lab.boot(t, srv.ns, vm, "No bootable device")
	out := c.String()
	for _, want := range []string{"boot which profile?", "boots from the local disk (profile local)"} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	for _, not := range []string{"profile rescue", "profile kiosk", "vmlinuz", "initrd"} {
		if strings.Contains(out, not) {
			t.Errorf("after local the console shows %q", not)
		}
	}
	if t.Failed() {
		t.Logf("console:\n%s", tail(out, 4000))
	}
	srv.stop(t)
	ms, _ := filepath.Glob(filepath.Join(dir, "conf", qemuServer, "*", "mac"))
	if len(ms) != 1 {
		t.Fatalf("%d machines on disk, want the new one", len(ms))
	}
	lab.checkAudit(t, filepath.Join(dir, "state", "audit.db"), w, filepath.Base(filepath.Dir(ms[0])), false)
	line := fmt.Sprintf("%-26s pxelator %5.1f s to the menu's local boot (no initramfs)", w.name, c.at("No bootable device").Seconds())
	t.Log(line)
	lab.mu.Lock()
	lab.bench = append(lab.bench, line)
	lab.mu.Unlock()
}

// root makes a boot root with the kernel, the initramfs and marker.txt.
func (lab *qemuLab) root(t *testing.T, root, marker string) {
	t.Helper()
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for from, name := range map[string]string{lab.img.kernel: "vmlinuz", lab.img.initrd: "initrd.gz"} {
		if err := os.Link(from, filepath.Join(root, name)); err != nil {
			copyFile(t, from, filepath.Join(root, name))
		}
	}
	writeFile(t, filepath.Join(root, "marker.txt"), marker+"\n")
}

// qemuServerProc is the reference server running in a namespace.
type qemuServerProc struct {
	ns   *netnstest.Namespace
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan struct{}
}

// startServer starts the reference server in ns, in dir, without a flag,
// and waits until it listens.
func (lab *qemuLab) startServer(t *testing.T, ns *netnstest.Namespace, dir string) *qemuServerProc {
	t.Helper()
	p := &qemuServerProc{ns: ns, out: &syncbuf.Buffer{}, done: make(chan struct{})}
	p.cmd = ns.Command(context.Background(), lab.bin)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	deadline := time.After(time.Minute)
	for !strings.Contains(p.out.String(), "pxelator: listening") {
		select {
		case <-p.done:
			t.Fatalf("the server exited:\n%s", p.out.String())
		case <-deadline:
			t.Fatalf("the server did not start:\n%s", p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if !strings.Contains(p.out.String(), "boots 5 of 5 kinds of client") {
		t.Errorf("the server does not say it boots every kind of client:\n%s", p.out.String())
	}
	return p
}

// stop stops the server as a user would, with SIGTERM, so that it
// flushes the audit.
func (p *qemuServerProc) stop(t *testing.T) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Errorf("the server did not stop within 30 s of SIGTERM")
		p.cmd.Process.Kill()
		<-p.done
	}
	if !strings.Contains(p.out.String(), "pxelator: stopped") {
		t.Errorf("the server did not stop cleanly:\n%s", tail(p.out.String(), 3000))
	}
}

// machine returns QEMU's arguments for a virtual machine of firmware with
// the MAC mac; a UEFI machine keeps its variables in dir across boots.
func (lab *qemuLab) machine(t *testing.T, firmware, mac, dir string) []string {
	t.Helper()
	args := []string{"-accel", "tcg", "-nographic", "-no-reboot", "-boot", "n",
		"-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no"}
	if firmware == "bios" {
		return append(args, "-m", "256", "-device", "e1000,netdev=n0,mac="+mac)
	}
	vars := filepath.Join(dir, "OVMF_VARS_4M.fd")
	if _, err := os.Stat(vars); err != nil {
		copyFile(t, "/usr/share/OVMF/OVMF_VARS_4M.fd", vars)
	}
	args = append(args, "-machine", "q35", "-m", "512",
		"-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
		"-drive", "if=pflash,format=raw,file="+vars,
		// romfile=: the firmware's own PXE and HTTP boot, not an iPXE ROM.
		"-device", "virtio-net-pci,netdev=n0,romfile=,mac="+mac)
	if firmware == "uefi-http" {
		// OVMF tries PXE before HTTP boot, and only after a minute or
		// more of PXE over IPv4 and IPv6 goes on: turn PXE off.
		args = append(args, "-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n",
			"-fw_cfg", "name=opt/org.tianocore/IPv6PXESupport,string=n")
	}
	return args
}

// boot runs one virtual machine with args in ns until its console shows
// until (then it is stopped) or it powers off, within bootTimeout, and
// returns its console. At most len(lab.slots) run at once.
func (lab *qemuLab) boot(t *testing.T, ns *netnstest.Namespace, args []string, until string) *console {
	t.Helper()
	lab.slots <- struct{}{}
	defer func() { <-lab.slots }()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	c := newConsole(markerUp, until)
	vm := ns.Command(ctx, lab.qemu, args...)
	vm.Stdout, vm.Stderr = c, c
	vm.Stdin = bytes.NewReader(nil)
	c.start = time.Now()
	if err := vm.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { vm.Wait(); close(exited) }()
	select {
	case <-c.seenCh(until):
		vm.Process.Kill()
		<-exited
	case <-exited:
		if c.at(until) == 0 {
			t.Fatalf("the machine stopped before %q; console:\n%s", until, tail(c.String(), 4000))
		}
	case <-ctx.Done():
		<-exited
		t.Fatalf("no %q within %v; console:\n%s", until, bootTimeout, tail(c.String(), 4000))
	}
	return c
}

// bootPeer boots w once more, served by dnsmasq (DHCP and TFTP) and, for
// the ways that need it, net/http's FileServer, in ns.
func (lab *qemuLab) bootPeer(t *testing.T, ns *netnstest.Namespace, w bootWay, marker string) *console {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	lab.root(t, root, marker)
	copyFile(t, "/usr/lib/PXELINUX/pxelinux.0", filepath.Join(root, "pxelinux.0"))
	copyFile(t, "/usr/lib/syslinux/modules/bios/ldlinux.c32", filepath.Join(root, "ldlinux.c32"))
	copyFile(t, "/usr/lib/ipxe/ipxe.efi", filepath.Join(root, "ipxe.efi"))
	for name, text := range w.peerRoot {
		writeFile(t, filepath.Join(root, name), text)
	}
	args := []string{"--no-daemon", "--conf-file=/dev/null", "--user=root", "--port=0", "--interface=br0", "--bind-interfaces",
		"--dhcp-authoritative", "--dhcp-range=10.78.0.100,10.78.0.150,255.255.255.0,1h",
		"--dhcp-leasefile=" + filepath.Join(dir, "leases"), "--pid-file=" + filepath.Join(dir, "dnsmasq.pid"),
		"--enable-tftp", "--tftp-root=" + root}
	if m := w.machine; m != nil {
		args = append(args, "--dhcp-host="+w.mac+","+m.ip+","+m.hostname)
	}
	var out syncbuf.Buffer
	dm := ns.Command(context.Background(), lab.dnsmasq, append(args, w.dnsmasq...)...)
	dm.Stdout, dm.Stderr = &out, &out
	if err := dm.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { dm.Process.Kill(); dm.Wait() }()
	if w.peerHTTP {
		var ln net.Listener
		ns.Do(t, func() (err error) {
			ln, err = net.Listen("tcp4", qemuServer+":80")
			return err
		})
		hs := &http.Server{Handler: http.FileServer(http.Dir(root))}
		go hs.Serve(ln)
		defer hs.Close()
	}
	c := lab.boot(t, ns, lab.machine(t, w.firmware, w.mac, dir), markerDone)
	if !strings.Contains(c.String(), markerTFTP+marker) {
		t.Errorf("the dnsmasq boot did not fetch marker.txt; console:\n%s\ndnsmasq:\n%s", tail(c.String(), 3000), out.String())
	}
	return c
}

// checkAudit opens the audit database the server wrote and looks for the
// machine's events through the query API: dhcpd by its MAC, and by its
// address the files sent over TFTP (tftpd) and HTTP (boot) and the
// syslog line of the initramfs (syslogd).
func (lab *qemuLab) checkAudit(t *testing.T, db string, w bootWay, ip string, syslog bool) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	entries := func(pkg, machine string) []audit.Entry {
		page, err := st.Events(ctx, audit.EventsQuery{Filter: audit.Filter{Package: pkg, Machine: machine}, Limit: 10000})
		if err != nil {
			t.Fatalf("audit query %s %s: %v", pkg, machine, err)
		}
		var out []audit.Entry
		for _, d := range page.Documents {
			out = append(out, d.Entries...)
		}
		return out
	}
	if len(entries("dhcpd", w.mac)) == 0 {
		t.Errorf("no dhcpd event for %s", w.mac)
	}
	for pkg, want := range w.files {
		var got []string
		for _, e := range entries(pkg, ip) {
			if f, ok := e.Fields["file"].(string); ok {
				got = append(got, strings.TrimLeft(f, "/"))
			}
		}
		for _, f := range want {
			if !slices.Contains(got, f) {
				t.Errorf("no %s event of %s sending %s; it sent %v", pkg, ip, f, got)
			}
		}
	}
	found := !syslog
	for _, e := range entries("syslogd", ip) {
		if msg, _ := e.Fields["msg"].(string); strings.Contains(msg, syslogText) {
			found = true
		}
	}
	if !found {
		t.Errorf("no syslogd event of %s with the initramfs's line", ip)
	}
	if seen, err := st.LastSeen(ctx, w.mac); err != nil || seen.IP != ip {
		t.Errorf("LastSeen(%s) = %+v, %v; want it at %s", w.mac, seen, err, ip)
	}
}

// console is a virtual machine's serial console: what it printed, and
// when each watched line first appeared.
type console struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	start time.Time
	seen  map[string]time.Duration
	ch    map[string]chan struct{}
}

func newConsole(watch ...string) *console {
	c := &console{seen: map[string]time.Duration{}, ch: map[string]chan struct{}{}}
	for _, w := range watch {
		c.ch[w] = make(chan struct{})
	}
	return c
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	from := max(0, c.buf.Len()-128)
	c.buf.Write(p)
	for w, ch := range c.ch {
		if _, ok := c.seen[w]; !ok && bytes.Contains(c.buf.Bytes()[from:], []byte(w)) {
			c.seen[w] = time.Since(c.start)
			close(ch)
		}
	}
	return len(p), nil
}

func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// at returns when line first appeared after the start, 0 if never.
func (c *console) at(line string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[line]
}

func (c *console) seenCh(line string) <-chan struct{} { return c.ch[line] }

// qemuLease is what the initramfs got from DHCP.
type qemuLease struct{ ip, hostname, server, logsrv string }

var leaseLine = regexp.MustCompile(markerLease + `ip=(\S*) hostname=(\S*) server=(\S*) logsrv=(\S*)`)

// check checks that the initramfs ran to its end: the marker, a lease,
// the syslog line sent and marker.txt fetched over TFTP; it returns the
// lease.
func (c *console) check(t *testing.T, marker string) qemuLease {
	t.Helper()
	out := c.String()
	m := leaseLine.FindStringSubmatch(out)
	for _, want := range []string{markerUp, markerSent, markerTFTP + marker, markerDone} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if m == nil {
		t.Fatalf("no lease on the console:\n%s", tail(out, 4000))
	}
	if t.Failed() {
		t.Logf("console:\n%s", tail(out, 4000))
	}
	return qemuLease{ip: m[1], hostname: m[2], server: m[3], logsrv: m[4]}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
