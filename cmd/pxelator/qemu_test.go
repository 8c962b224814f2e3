package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/internal/netnstest"
)

// TestQEMUBoot boots virtual machines' real PXE firmware from the
// reference server, each in a network namespace of its own with a bridge
// and a tap:
//   - BIOS: QEMU's iPXE ROM asks DHCP, and as it runs iPXE already it
//     gets the HTTP script URL;
//   - UEFI: OVMF's own PXE (client architecture 7) gets ipxe.efi (here
//     iPXE's snponly.efi) over TFTP, which asks DHCP again as iPXE and gets
//     the script.
//
// The script fetches a file over HTTP and prints markers on the serial
// console; the machine must end up on disk as conf/<server-ip>/<ip>/mac.
func TestQEMUBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots virtual machines")
	}
	netnstest.Need(t) // a namespace with a bridge and a tap
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 not installed (Debian: qemu-system-x86 ipxe-qemu)")
	}
	bin := filepath.Join(t.TempDir(), "pxelator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		name  string
		needs []string // files that must exist
		mac   string
		args  func(dir string) []string
		root  map[string]string // boot root file -> file to copy there
		via   string            // what the server must have logged
	}{
		{
			name:  "BIOS-iPXE",
			needs: []string{"/usr/lib/ipxe/qemu/pxe-e1000.rom"},
			mac:   "52:54:00:12:34:56",
			args: func(string) []string {
				return []string{"-m", "256", "-device", "e1000,netdev=n0,mac=52:54:00:12:34:56"}
			},
		},
		{
			name:  "UEFI-PXE",
			needs: []string{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/lib/ipxe/snponly.efi"},
			mac:   "52:54:00:12:34:57",
			args: func(dir string) []string {
				vars := filepath.Join(dir, "OVMF_VARS_4M.fd")
				copyFile(t, "/usr/share/OVMF/OVMF_VARS_4M.fd", vars)
				return []string{"-machine", "q35", "-m", "512",
					"-drive", "if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd",
					"-drive", "if=pflash,format=raw,file=" + vars,
					"-device", "virtio-net-pci,netdev=n0,romfile=,mac=52:54:00:12:34:57"}
			},
			root: map[string]string{"ipxe.efi": "/usr/lib/ipxe/snponly.efi"},
			via:  "ipxe.efi",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range tt.needs {
				if _, err := os.Stat(f); err != nil {
					t.Skipf("%s not installed (Debian: ipxe-qemu ipxe ovmf)", f)
				}
			}
			srvOut := bootQEMU(t, bin, qemu, tt.mac, tt.args, tt.root)
			if tt.via != "" && !strings.Contains(srvOut, "file="+tt.via) {
				t.Errorf("the server did not send %s over TFTP:\n%s", tt.via, srvOut)
			}
		})
	}
}

// bootQEMU runs the reference server and one virtual machine in a
// network namespace of their own, waits for the machine to boot the
// script, and returns what the server logged.
func bootQEMU(t *testing.T, bin, qemu, mac string, qemuArgs func(dir string) []string, rootFiles map[string]string) string {
	const server = "10.78.0.1"
	ns := netnstest.New(t, "pxq")
	ns.BridgeTap(t, "br0", netip.MustParsePrefix(server+"/24"), "tap0")

	dir := t.TempDir()
	root := filepath.Join(dir, "tftpboot")
	os.MkdirAll(root, 0o755)
	for name, from := range rootFiles {
		copyFile(t, from, filepath.Join(root, name))
	}
	// No profile applies to a new machine: the static script answers.
	script := "#!ipxe\necho PXELATOR-E2E ${net0/ip}\n" +
		"imgfetch http://" + server + "/boot/marker.txt && echo PXELATOR-FETCHED\npoweroff\n"
	os.WriteFile(filepath.Join(root, "boot.ipxe"), []byte(script), 0o644)
	os.WriteFile(filepath.Join(root, "marker.txt"), []byte("hello from pxelator\n"), 0o644)

	conf := filepath.Join(dir, "conf")
	var srvOut lockedBuffer
	srv := ns.Command(context.Background(), bin,
		"-conf", conf, "-state", filepath.Join(dir, "state"), "-server-ip", server, "-audit", "sqlite:"+filepath.Join(dir, "audit.db"),
		"-iface", "br0", "-range", "10.78.0.100-10.78.0.150",
		"-tftp", server+":69", "-http", server+":80", "-root", root, "-profiles", filepath.Join(dir, "profiles"))
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	srvDone := make(chan struct{})
	go func() { srv.Wait(); close(srvDone) }()
	defer func() {
		srv.Process.Kill()
		<-srvDone
		if t.Failed() {
			t.Logf("server output:\n%s", srvOut.String())
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var vmOut lockedBuffer
	args := append([]string{"-accel", "tcg", "-nographic", "-no-reboot", "-boot", "n",
		"-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no"}, qemuArgs(dir)...)
	vm := ns.Command(ctx, qemu, args...)
	vm.Stdout, vm.Stderr = &vmOut, &vmOut
	vm.Stdin = bytes.NewReader(nil)
	start := time.Now()
	if err := vm.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		vm.Process.Kill()
		vm.Wait()
	}()
	for !strings.Contains(vmOut.String(), "PXELATOR-FETCHED") {
		select {
		case <-srvDone:
			t.Fatalf("the server exited; console:\n%s", tail(vmOut.String(), 3000))
		default:
		}
		if ctx.Err() != nil {
			t.Fatalf("the machine did not boot through the stack in time; console:\n%s", tail(vmOut.String(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("booted the script and fetched a file %.1f s after power-on", time.Since(start).Seconds())
	out := vmOut.String()
	i := strings.Index(out, "PXELATOR-E2E ")
	ip := strings.Fields(out[i+len("PXELATOR-E2E "):])[0]
	if !strings.HasPrefix(ip, "10.78.0.1") {
		t.Fatalf("the machine's address is %q, want one from the range", ip)
	}
	b, err := os.ReadFile(filepath.Join(conf, server, ip, "mac"))
	if err != nil || strings.TrimSpace(string(b)) != mac {
		t.Fatalf("conf/%s/%s/mac = %q, %v; want %s", server, ip, b, err, mac)
	}
	return srvOut.String()
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
