// Package netnstest makes network namespaces for tests that need their
// own network: broadcast DHCP between two namespaces joined by a veth
// pair, a DNS server on 127.0.0.1:53, raw Ethernet frames, a virtual
// machine on a bridge. Every namespace, and the links in it, is deleted
// when the test ends, whether it passed, failed or panicked; a test that
// is not run as root, or without ip(8) from iproute2, is skipped with a
// message saying so.
package netnstest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Need skips t unless it runs as root with ip(8) installed.
func Need(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("netnstest: network namespaces are Linux's")
	}
	if os.Geteuid() != 0 {
		t.Skip("netnstest: needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("netnstest: needs ip(8) (Debian: iproute2)")
	}
}

// A Namespace is a network namespace made for one test.
type Namespace struct {
	// Name is the namespace's name, as `ip netns` knows it.
	Name string
}

// New creates a namespace whose name begins with prefix and ends with a
// suffix of its own, with its loopback interface up. It is deleted when
// the test ends. New skips t as [Need] does.
func New(t testing.TB, prefix string) *Namespace {
	t.Helper()
	Need(t)
	ns := &Namespace{Name: prefix + fmt.Sprintf("%d-%s", os.Getpid(), strings.ToLower(rand.Text()[:6]))}
	run(t, "ip", "netns", "add", ns.Name)
	t.Cleanup(func() {
		os.RemoveAll(ns.etc())
		if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
			t.Errorf("netnstest: ip netns del %s: %v: %s", ns.Name, err, out)
		}
	})
	ns.IP(t, "link", "set", "lo", "up")
	return ns
}

// IP runs ip(8) with args on the namespace (ip -n NAME args...) and fails
// t when it fails.
func (ns *Namespace) IP(t testing.TB, args ...string) {
	t.Helper()
	run(t, "ip", append([]string{"-n", ns.Name}, args...)...)
}

// Command returns the command that runs name with args inside the
// namespace (ip netns exec NAME name args...), killed when ctx is done.
func (ns *Namespace) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Do runs f on an operating-system thread that has joined the namespace,
// and fails t when f fails. Sockets f opens stay in the namespace. The
// thread is never given back to the Go runtime, which ends it when f
// returns: no other goroutine ever runs in the namespace by accident.
func (ns *Namespace) Do(t testing.TB, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := setns(filepath.Join("/run/netns", ns.Name)); err != nil {
			errc <- fmt.Errorf("netnstest: joining %s: %w", ns.Name, err)
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// Veth joins a and b, which may be the same namespace, with a veth pair:
// the interface aIf in a and bIf in b, both up.
func Veth(t testing.TB, a *Namespace, aIf string, b *Namespace, bIf string) {
	t.Helper()
	a.IP(t, "link", "add", aIf, "type", "veth", "peer", "name", bIf, "netns", b.Name)
	a.IP(t, "link", "set", aIf, "up")
	b.IP(t, "link", "set", bIf, "up")
}

// BridgeTap makes, in the namespace, the bridge br with the address addr
// and the tap device tap on it, both up: a virtual machine given the tap
// (QEMU's -netdev tap,ifname=TAP) is on the bridge's segment.
func (ns *Namespace) BridgeTap(t testing.TB, br string, addr netip.Prefix, tap string) {
	t.Helper()
	ns.IP(t, "link", "add", br, "type", "bridge")
	ns.IP(t, "addr", "add", addr.String(), "dev", br)
	ns.IP(t, "link", "set", br, "up")
	ns.IP(t, "tuntap", "add", "dev", tap, "mode", "tap")
	ns.IP(t, "link", "set", tap, "master", br)
	ns.IP(t, "link", "set", tap, "up")
}

// WriteEtc writes the file name of /etc/netns/NAME/, which ip netns exec
// binds over /etc/name for the commands it runs (resolv.conf, say). It is
// removed with the namespace.
func (ns *Namespace) WriteEtc(t testing.TB, name, content string) {
	t.Helper()
	if err := os.MkdirAll(ns.etc(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ns.etc(), name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (ns *Namespace) etc() string { return filepath.Join("/etc/netns", ns.Name) }

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("netnstest: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
