package dnsd_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/memstore"
)

// newNetns creates a network namespace with lo up whose resolv.conf
// (through ip netns exec) names 127.0.0.1, or skips the test.
func newNetns(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	lookTool(t, "ip", "iproute2")
	name := fmt.Sprintf("dnsd-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	etc := filepath.Join("/etc/netns", name)
	t.Cleanup(func() {
		os.RemoveAll(etc)
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 127.0.0.1\noptions timeout:5 attempts:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// listenInNetns opens the DNS sockets on 127.0.0.1:53 inside the
// namespace, from a thread that enters it and comes back.
func listenInNetns(t *testing.T, name string) (net.PacketConn, net.Listener) {
	t.Helper()
	type result struct {
		pc  net.PacketConn
		l   net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // left locked, and so ended, if we cannot come back
		var r result
		defer func() { done <- r }()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			r.err = err
			return
		}
		defer orig.Close()
		target, err := os.Open(filepath.Join("/run/netns", name))
		if err != nil {
			r.err = err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			r.err = fmt.Errorf("setns: %w", err)
			return
		}
		r.pc, r.l, r.err = dnsd.Listen("127.0.0.1:53")
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			r.err = errors.Join(r.err, fmt.Errorf("setns back: %w", err))
			return
		}
		runtime.UnlockOSThread()
	}()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.pc, r.l
}

// TestInteropGetaddrinfo resolves names through the C library's resolver
// (getent, which uses getaddrinfo like ping does) in a namespace whose
// name server is the Handler: a machine with nothing but ping runs a
// command, once, though the resolver asks for A and AAAA.
func TestInteropGetaddrinfo(t *testing.T) {
	getent := lookTool(t, "getent", "libc-bin")
	ns := newNetns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	store := memstore.New()
	putMachine(t, store, "52:54:00:00:00:0b", "10.0.0.11", "kiosk-01")
	putMachine(t, store, "52:54:00:00:00:0e", "127.0.0.5", "pinger")
	rec := &audittest.Recorder{}
	h, err := dnsd.NewHandler(ctx, dnsd.Config{
		Zone:           "pxe",
		Store:          store,
		Networks:       []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
		CommandClients: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		CommandWindow:  time.Hour,
		Audit:          rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	wake := &counter{}
	h.HandleCommand("wake", wake.run)
	pc, l := listenInNetns(t, ns)
	srv := &dnsd.Server{Handler: h}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(pc, l) }()
	defer func() {
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		if err := <-served; !errors.Is(err, dnsd.ErrServerClosed) {
			t.Error(err)
		}
	}()

	tests := []struct {
		args []string
		want string // first field of the first line
	}{
		{[]string{"ahosts", "kiosk-01.pxe"}, "10.0.0.11"},
		{[]string{"hosts", "10.0.0.11"}, "10.0.0.11"}, // PTR: "10.0.0.11 kiosk-01.pxe"
		{[]string{"ahosts", "wake.pinger.do.pxe"}, "127.0.0.5"},
		{[]string{"ahosts", "wake.pinger.do.pxe"}, "127.0.0.5"},
	}
	for _, tt := range tests {
		out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, getent}, tt.args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("getent %s: %v: %s", strings.Join(tt.args, " "), err, out)
		}
		if f := strings.Fields(string(out)); len(f) < 2 || f[0] != tt.want {
			t.Errorf("getent %s: %q, want %s", strings.Join(tt.args, " "), out, tt.want)
		}
		if tt.args[0] == "hosts" && !strings.Contains(string(out), "kiosk-01.pxe") {
			t.Errorf("getent hosts 10.0.0.11: %q, want kiosk-01.pxe", out)
		}
	}
	if out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, getent, "ahosts", "missing.pxe").CombinedOutput(); err == nil {
		t.Errorf("getent ahosts missing.pxe: %s, want failure", out)
	}
	if n := wake.n.Load(); n != 1 {
		t.Errorf("command ran %d times for two lookups of one name, want 1", n)
	}
	if evs := rec.Find("dnsd", "command"); len(evs) != 1 || evs[0].Hostname != "pinger" {
		t.Errorf("command events: %+v", evs)
	}
}
