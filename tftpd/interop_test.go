package tftpd_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
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

// bootRoot makes a root with binary files of awkward sizes, a link that
// stays inside and one that leaves, and a secret file beside the root.
func bootRoot(t *testing.T) (root string, files map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "tftpboot")
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	files = map[string][]byte{
		"pxelinux.0":    randBytes(t, 46_000),
		"empty":         {},
		"block.bin":     randBytes(t, 512*4),   // an exact multiple of 512
		"sub/big.bin":   randBytes(t, 3<<20+7), // 3 MiB and a bit
		"exact1468.bin": randBytes(t, 1468*3),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(root, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("outside the root"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/big.bin", filepath.Join(root, "memdisk.image")); err != nil {
		t.Fatal(err)
	}
	files["memdisk.image"] = files["sub/big.bin"]
	if err := os.Symlink("../secret", filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(root, "passwd")); err != nil {
		t.Fatal(err)
	}
	return root, files
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// escapes are names that must be refused, with what each tries.
var escapes = []string{
	"../secret",
	"sub/../../secret",
	"escape",      // a link to ../secret
	"passwd",      // a link to /etc/passwd
	"/etc/passwd", // root-relative: there is no etc/passwd in the root
	`..\secret`,
	"%2e%2e/secret",
	"..%2fsecret",
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s); skipping interop test", name, map[string]string{"tftp": "tftp-hpa", "atftp": "atftp", "curl": "curl"}[name])
	}
	return p
}

func startServer(t *testing.T, h tftpd.Handler) (*tftptest.Server, *audittest.Recorder) {
	t.Helper()
	rec := &audittest.Recorder{}
	s := tftptest.NewUnstartedServer(h)
	s.Config.Recorder = rec
	s.Config.Log = slog.New(slog.DiscardHandler)
	s.Config.Timeout = 2 * time.Second
	s.Start()
	t.Cleanup(s.Close)
	return s, rec
}

func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// client is one real TFTP client: get fetches name into out.
type client struct {
	tool string
	get  func(s *tftptest.Server, name, out string) []string
}

var clients = []client{
	{"tftp", func(s *tftptest.Server, name, out string) []string {
		return []string{"-m", "binary", s.Addr.Addr().String(), strconv.Itoa(int(s.Addr.Port())), "-c", "get", name, out}
	}},
	{"atftp", func(s *tftptest.Server, name, out string) []string {
		return []string{"--option", "blksize 1468", "--option", "tsize 0", "--option", "windowsize 8", "--option", "timeout 1",
			"-g", "-r", name, "-l", out, s.Addr.Addr().String(), strconv.Itoa(int(s.Addr.Port()))}
	}},
	{"curl", func(s *tftptest.Server, name, out string) []string {
		return []string{"-sS", "--tftp-blksize", "1468", "-o", out, fmt.Sprintf("tftp://%s/%s", s.Addr, name)}
	}},
}

func TestInteropGet(t *testing.T) {
	root, files := bootRoot(t)
	s, rec := startServer(t, tftpd.FileServer(root))
	for _, c := range clients {
		t.Run(c.tool, func(t *testing.T) {
			tool := needTool(t, c.tool)
			for name, want := range files {
				if c.tool == "curl" && len(want) == 0 {
					continue // curl writes no file for an empty transfer
				}
				out := filepath.Join(t.TempDir(), "out")
				if msg, err := run(t, 2*time.Minute, tool, c.get(s, name, out)...); err != nil {
					t.Fatalf("%s get %s: %v\n%s", c.tool, name, err, msg)
				}
				got, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s get %s: got %d bytes, want %d bytes, identical: false", c.tool, name, len(got), len(want))
				}
			}
		})
	}
	windowed := 0
	n := 0
	for _, c := range clients {
		if _, err := exec.LookPath(c.tool); err == nil {
			n += len(files)
			if c.tool == "curl" {
				n-- // the empty file
			}
		}
	}
	waitEvents(t, rec, "tftpd", n)
	for _, e := range rec.Find("tftpd", "read") {
		if e.Fields["outcome"] != "ok" {
			t.Errorf("transfer of %v: outcome %v: %v", e.Fields["file"], e.Fields["outcome"], e.Fields["error"])
		}
		if e.Fields["windowsize"] == 8 && e.Fields["blksize"] == 1468 {
			windowed++
		}
	}
	if _, err := exec.LookPath("atftp"); err == nil && windowed == 0 {
		t.Errorf("no transfer recorded with atftp's blksize 1468 and windowsize 8")
	}
}

func TestInteropEscapesRefused(t *testing.T) {
	root, _ := bootRoot(t)
	s, _ := startServer(t, tftpd.FileServer(root))
	for _, c := range clients {
		t.Run(c.tool, func(t *testing.T) {
			tool := needTool(t, c.tool)
			for _, name := range escapes {
				if c.tool == "curl" && strings.Contains(name, `\`) {
					continue
				}
				out := filepath.Join(t.TempDir(), "out")
				msg, err := run(t, time.Minute, tool, c.get(s, name, out)...)
				got, _ := os.ReadFile(out)
				if bytes.Contains(got, []byte("outside the root")) || bytes.Contains(got, []byte("root:")) {
					t.Fatalf("%s get %q: served a file outside the root", c.tool, name)
				}
				// tftp-hpa exits 0 even on an error packet: read its message.
				if err == nil && c.tool != "tftp" {
					t.Errorf("%s get %q: succeeded, want a refusal\n%s", c.tool, name, msg)
				}
				if c.tool == "tftp" && !strings.Contains(strings.ToLower(msg), "error") {
					t.Errorf("%s get %q: no error reported: %q", c.tool, name, msg)
				}
			}
		})
	}
}

func mustMAC(s string) net.HardwareAddr {
	m, err := pxelator.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestInteropBootConfigs asks for per-machine pxelinux and GRUB names the
// way pxelinux does, with tftp-hpa's client: the machine at 127.0.0.1 gets
// its profile, other names fall back to the static files.
func TestInteropBootConfigs(t *testing.T) {
	tool := needTool(t, "tftp")
	root, _ := bootRoot(t)
	if err := os.MkdirAll(filepath.Join(root, "pxelinux.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "pxelinux.cfg", "default"), []byte("DEFAULT static\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := memstore.New()
	m := pxelator.Machine{MAC: mustMAC("52:54:00:12:34:56"), IP: mustAddr("127.0.0.1"), Hostname: "lo", Profile: "local"}
	if err := store.Put(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	s, rec := startServer(t, tftpd.BootServer(&boot.Files{Root: root, Store: store}))
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
		msg, err := run(t, time.Minute, tool, "-m", "binary", s.Addr.Addr().String(), strconv.Itoa(int(s.Addr.Port())), "-c", "get", tt.name, out)
		got, _ := os.ReadFile(out)
		if tt.want == "" {
			if !strings.Contains(msg, "Error code 1") {
				t.Errorf("get %s: %q %v, want error code 1", tt.name, msg, err)
			}
			continue
		}
		if err != nil || !strings.Contains(string(got), tt.want) {
			t.Errorf("get %s: %q (%v %s), want %q", tt.name, got, err, msg, tt.want)
		}
	}
	waitEvents(t, rec, "tftpd", len(tests))
}

// waitEvents waits until n events of pkg have been recorded: the server
// records a transfer after the client has its last block.
func waitEvents(t *testing.T, rec *audittest.Recorder, pkg string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	seen := 0
	if _, ok := rec.Wait(ctx, func(e audit.Event) bool {
		if e.Package == pkg {
			seen++
		}
		return seen >= n
	}); !ok {
		t.Fatalf("%d %s events recorded, want %d", len(rec.Find(pkg, "")), pkg, n)
	}
}
