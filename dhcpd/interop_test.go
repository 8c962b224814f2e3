package dhcpd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/internal/netnstest"
	"github.com/pxelator/pxelator/memstore"
)

// netns is a pair of network namespaces joined by a veth pair: the server
// side has 10.77.0.1/16, the client side no address.
type netns struct {
	srv, cli     *netnstest.Namespace
	srvIf, cliIf string
}

// newNetns creates the namespaces, removed when the test ends. It skips
// the test when not root or without iproute2.
func newNetns(t *testing.T) *netns {
	t.Helper()
	n := &netns{srv: netnstest.New(t, "dhcpd-s"), cli: netnstest.New(t, "dhcpd-c"), srvIf: "dhcp-srv", cliIf: "dhcp-cli"}
	netnstest.Veth(t, n.srv, n.srvIf, n.cli, n.cliIf)
	n.srv.IP(t, "addr", "add", "10.77.0.1/16", "dev", n.srvIf)
	return n
}

// listenIn opens srv's socket inside the namespace ns.
func listenIn(t *testing.T, ns *netnstest.Namespace, srv *dhcpd.Server) net.PacketConn {
	t.Helper()
	var conn net.PacketConn
	ns.Do(t, func() (err error) {
		conn, err = srv.ListenPacket()
		return err
	})
	return conn
}

// lease is what a client reported.
type lease struct{ ip, hostname, file string }

func TestInteropClients(t *testing.T) {
	n := newNetns(t)
	ctx := testCtx(t)
	store := memstore.New()
	rec := &audittest.Recorder{}
	cfg := testConfig("10.77.0.100", "10.77.250.250")
	cfg.Recorder = rec
	srv := &dhcpd.Server{Handler: newHandler(t, store, cfg), Interface: n.srvIf, Addr: ":67", Recorder: rec}
	conn := listenIn(t, n.srv, srv)
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(conn) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})

	clients := []struct {
		name string
		mac  string
		run  func(t *testing.T, ctx context.Context, n *netns) lease
	}{
		{"dhclient", "52:54:00:77:00:01", runDhclient},
		{"udhcpc", "52:54:00:77:00:02", runUdhcpc},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			if _, err := exec.LookPath(c.name); err != nil {
				t.Skipf("interop: %s not installed (Debian: isc-dhcp-client, udhcpc)", c.name)
			}
			mac, _ := net.ParseMAC(c.mac)
			n.cli.IP(t, "link", "set", "dev", n.cliIf, "address", c.mac)
			first := c.run(t, ctx, n)
			m, err := store.ByMAC(ctx, mac)
			if err != nil {
				t.Fatalf("%s's machine is not in the store: %v", c.name, err)
			}
			if first.ip != m.IP.String() || first.file != "pxelinux.0" {
				t.Errorf("first run: %+v, machine %v", first, m)
			}
			// A person names the machine: the next run gets the name and
			// the same address.
			m.Hostname = c.name + "-box"
			if err := store.Put(ctx, m); err != nil {
				t.Fatal(err)
			}
			second := c.run(t, ctx, n)
			if want := (lease{m.IP.String(), c.name + "-box", "pxelinux.0"}); second != want {
				t.Errorf("second run: %+v, want %+v", second, want)
			}
			if _, ok := rec.Wait(ctx, func(e audit.Event) bool {
				return e.Action == "ack" && e.MAC.String() == c.mac && e.Fields["iface"] == n.srvIf
			}); !ok {
				t.Errorf("no audit record of the ACK on %s", n.srvIf)
			}
		})
	}
}

// runDhclient runs ISC dhclient once in the client namespace with a fresh
// lease file, until it is bound, and reads the lease it wrote.
func runDhclient(t *testing.T, ctx context.Context, n *netns) lease {
	dir := t.TempDir()
	lf := filepath.Join(dir, "leases")
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	cmd := n.cli.Command(ctx, "dhclient", "-4", "-v", "-1", "-d",
		"-cf", "/dev/null", "-sf", "/bin/true", "-lf", lf, "-pf", filepath.Join(dir, "pid"), n.cliIf)
	out := waitFor(t, cmd, "bound to")
	b, err := os.ReadFile(lf)
	if err != nil {
		t.Fatalf("dhclient wrote no lease: %v\n%s", err, out)
	}
	s := string(b)
	return lease{
		ip:       find(s, `fixed-address ([0-9.]+);`),
		hostname: find(s, `option host-name "([^"]*)";`),
		file:     find(s, `filename "([^"]*)";`),
	}
}

// runUdhcpc runs busybox udhcpc once in the client namespace with a
// script that saves what it is told when bound.
func runUdhcpc(t *testing.T, ctx context.Context, n *netns) lease {
	dir := t.TempDir()
	env := filepath.Join(dir, "env")
	script := filepath.Join(dir, "script")
	sh := "#!/bin/sh\nif [ \"$1\" = bound ]; then env > " + env + "; fi\nexit 0\n"
	if err := os.WriteFile(script, []byte(sh), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	cmd := n.cli.Command(ctx, "udhcpc", "-i", n.cliIf, "-n", "-q", "-f",
		"-t", "10", "-T", "2", "-s", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("udhcpc: %v\n%s", err, out)
	}
	b, err := os.ReadFile(env)
	if err != nil {
		t.Fatalf("udhcpc was not bound: %v\n%s", err, out)
	}
	s := string(b)
	return lease{ip: find(s, `(?m)^ip=(.*)$`), hostname: find(s, `(?m)^hostname=(.*)$`), file: find(s, `(?m)^boot_file=(.*)$`)}
}

// waitFor starts cmd, waits until a line of its output contains marker,
// then stops it and returns the output.
func waitFor(t *testing.T, cmd *exec.Cmd, marker string) string {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	var out strings.Builder
	found := false
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), marker) {
			found = true
			break
		}
	}
	cmd.Process.Signal(os.Interrupt)
	go func() { // drain until the child exits
		for sc.Scan() {
		}
	}()
	err = cmd.Wait()
	pr.Close()
	var ee *exec.ExitError
	if !found {
		t.Fatalf("%v: no %q (%v)\n%s", cmd.Args, marker, err, out.String())
	} else if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	return out.String()
}

func find(s, re string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}

// TestInteropAllInterfaces serves on all interfaces of the namespace (no
// SO_BINDTODEVICE): the interface comes from IP_PKTINFO, and the broadcast
// reply must leave by that interface.
func TestInteropAllInterfaces(t *testing.T) {
	n := newNetns(t)
	if _, err := exec.LookPath("udhcpc"); err != nil {
		t.Skip("interop: udhcpc not installed (Debian: udhcpc)")
	}
	ctx := testCtx(t)
	out, err := exec.Command("ip", "-n", n.srv.Name, "-o", "link", "show", "dev", n.srvIf).Output()
	if err != nil {
		t.Fatal(err)
	}
	var index int
	fmt.Sscanf(string(out), "%d:", &index)
	store := memstore.New()
	h := newHandler(t, store, testConfig("10.77.0.100", "10.77.250.250"))
	seen := make(chan int, 16)
	srv := &dhcpd.Server{Addr: ":67", Handler: dhcpd.HandlerFunc(func(ctx context.Context, w dhcpd.ResponseWriter, req *dhcpd.Request) {
		select {
		case seen <- req.IfIndex:
		default:
		}
		h.ServeDHCP(ctx, w, req)
	})}
	conn := listenIn(t, n.srv, srv)
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(conn) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	got := runUdhcpc(t, ctx, n)
	if got.ip != "10.77.0.100" || got.file != "pxelinux.0" {
		t.Errorf("udhcpc got %+v", got)
	}
	if i := <-seen; i != index {
		t.Errorf("request seen on interface index %d, want %d (%s)", i, index, n.srvIf)
	}
}
