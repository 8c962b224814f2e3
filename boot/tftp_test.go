package boot_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/tftpd"
	"github.com/pxelator/pxelator/tftpd/tftptest"
)

// Files is what package tftpd asks of a file source.
var _ tftpd.Opener = (*boot.Files)(nil)

// ExampleFiles_OpenTFTP serves per-machine pxelinux configurations
// rendered from the embedded "linux" profile over TFTP, and static files
// otherwise.
func ExampleFiles_OpenTFTP() {
	store := memstore.New()
	m := pxelator.Machine{MAC: mustMAC("52:54:00:12:34:56"), IP: netip.MustParseAddr("10.0.0.5"), Hostname: "ws-05", Profile: "linux"}
	m.Set("cmdline", "console=ttyS0")
	store.Put(context.Background(), m)

	s := tftptest.NewServer(tftpd.OpenerHandler(&boot.Files{Root: os.TempDir(), Store: store}))
	defer s.Close()
	data, _, err := (&tftptest.Client{}).Get(context.Background(), s.Addr, "pxelinux.cfg/01-52-54-00-12-34-56")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(strings.ReplaceAll(string(data), "\t", "  "))
	// Output:
	// # PXElator profile "linux" for ws-05 52:54:00:12:34:56 10.0.0.5: vmlinuz and initrd.gz of the boot root, over TFTP.
	// # Variables: .Hostname .MAC .IP; attribute cmdline (more kernel parameters).
	// DEFAULT linux
	// PROMPT 0
	// LABEL linux
	//   KERNEL vmlinuz
	//   INITRD initrd.gz
	//   APPEND initrd=initrd.gz console=ttyS0
}

// TestInteropTFTP asks for per-machine pxelinux and GRUB names the way
// pxelinux does, with tftp-hpa's client, from a tftpd server of Files:
// the machine at 127.0.0.1 gets its profile, other names fall back to the
// static files.
func TestInteropTFTP(t *testing.T) {
	tool, err := exec.LookPath("tftp")
	if err != nil {
		t.Skip("tftp not installed (Debian package tftp-hpa); skipping interop test")
	}
	root := t.TempDir()
	write(t, filepath.Join(root, "pxelinux.cfg", "default"), "DEFAULT static\n")
	store := memstore.New()
	m := pxelator.Machine{MAC: mustMAC("52:54:00:12:34:56"), IP: netip.MustParseAddr("127.0.0.1"), Hostname: "lo", Profile: "local"}
	must(t, store.Put(context.Background(), m))
	rec := &audittest.Recorder{}
	s := tftptest.NewUnstartedServer(tftpd.OpenerHandler(&boot.Files{Root: root, Store: store}))
	s.Config.Recorder = rec
	s.Config.Logger = slog.New(slog.DiscardHandler)
	s.Config.Timeout = 2 * time.Second
	s.Start()
	t.Cleanup(s.Close)
	tests := []struct{ name, want string }{
		{"pxelinux.cfg/01-52-54-00-12-34-56", "LOCALBOOT 0"},
		{"pxelinux.cfg/7F000001", "LOCALBOOT 0"},
		{"pxelinux.cfg/7F0", "LOCALBOOT 0"},
		{"pxelinux.cfg/01-52-54-00-99-99-99", ""}, // unknown: error packet
		{"pxelinux.cfg/0A", ""},                   // not this client
		{"pxelinux.cfg/default", "DEFAULT static"},
		{"grub.cfg-01-52-54-00-12-34-56", "exit"},
		{"boot.ipxe", "sanboot"},
	}
	for _, tt := range tests {
		out := filepath.Join(t.TempDir(), "out")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		msg, err := exec.CommandContext(ctx, tool, "-m", "binary", s.Addr.Addr().String(), strconv.Itoa(int(s.Addr.Port())), "-c", "get", tt.name, out).CombinedOutput()
		cancel()
		got, _ := os.ReadFile(out)
		if tt.want == "" {
			if !strings.Contains(string(msg), "Error code 1") {
				t.Errorf("get %s: %q %v, want error code 1", tt.name, msg, err)
			}
			continue
		}
		if err != nil || !strings.Contains(string(got), tt.want) {
			t.Errorf("get %s: %q (%v %s), want %q", tt.name, got, err, msg, tt.want)
		}
	}
	// The server records a transfer after the client has its last block.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := 0
	if _, ok := rec.Wait(ctx, func(e audit.Event) bool {
		if e.Package == "tftpd" {
			seen++
		}
		return seen >= len(tests)
	}); !ok {
		t.Fatalf("%d tftpd events recorded, want %d", len(rec.Find("tftpd", "")), len(tests))
	}
}
