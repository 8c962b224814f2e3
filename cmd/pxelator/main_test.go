package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pxelator/pxelator/internal/syncbuf"
)

// startServer runs the server with args (and temporary -conf, -state,
// -root and -profiles directories, which args may override) until the
// test ends, and returns the addresses its services listen on, by
// service name.
func startServer(t *testing.T, args ...string) (listening map[string]string, out *syncbuf.Buffer) {
	t.Helper()
	listening, out, _ = startServerWith(t, nil, args...)
	return listening, out
}

// startServerWith is startServer with tweak, when not nil, applied to
// the settings of the flags (for what no flag sets); stop stops the
// server and waits for it, as the end of the test does if stop was not
// called.
func startServerWith(t *testing.T, tweak func(*settings), args ...string) (listening map[string]string, out *syncbuf.Buffer, stop func()) {
	t.Helper()
	dir := t.TempDir()
	args = append([]string{"-conf", filepath.Join(dir, "conf"), "-state", filepath.Join(dir, "state"),
		"-root", filepath.Join(dir, "tftpboot"), "-profiles", filepath.Join(dir, "profiles")}, args...)
	out = &syncbuf.Buffer{}
	set, err := parseFlags(args, out)
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(set)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveSettings(ctx, set, out, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if l, ok := listeningLine(out.String()); ok {
			return l, out, stop
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before serving: %v\n%s", err, out.String())
		default:
		}
	}
	t.Fatalf("no start-up lines in 30 s:\n%s", out.String())
	return nil, nil, nil
}

// listeningLine parses the "pxelator: listening: name=addr ..." line.
func listeningLine(out string) (map[string]string, bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "pxelator: listening:"); ok {
			m := map[string]string{}
			for _, f := range strings.Fields(rest) {
				name, addr, _ := strings.Cut(f, "=")
				m[name] = addr
			}
			return m, true
		}
	}
	return nil, false
}

// TestRunStartsAndStops runs the server with a fresh conf directory and
// checks that it says what it serves, where, and stops when its context
// ends.
func TestRunStartsAndStops(t *testing.T) {
	listening, out := startServer(t, append([]string{"-server-ip", "127.0.0.1", "-audit", "none"}, loopbackFlags...)...)
	for _, name := range []string{"dhcp", "tftp", "http", "dns", "syslog"} {
		if !strings.HasPrefix(listening[name], "127.0.0.1:") {
			t.Errorf("%s listens on %q, want loopback", name, listening[name])
		}
	}
	for _, want := range []string{"serving segment 127.0.0.1", "DHCP on interface lo", "DNS on 127.0.0.1:0", "syslog on 127.0.0.1:0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up lines lack %q:\n%s", want, out.String())
		}
	}
}

// TestServiceOff: every service is turned off the same way, and an empty
// address is an error rather than a second way.
func TestServiceOff(t *testing.T) {
	listening, _ := startServer(t, "-server-ip", "127.0.0.1", "-audit", "none",
		"-dhcp", "off", "-tftp", "off", "-http", "off", "-dns", "127.0.0.1:0", "-syslog", "off", "-ping", "off", "-schedule", "off")
	if len(listening) != 1 || listening["dns"] == "" {
		t.Errorf("listening = %v, want dns only", listening)
	}
	for _, name := range []string{"dhcp", "tftp", "http", "dns", "syslog"} {
		_, err := parseFlags([]string{"-" + name, ""}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "or off") {
			t.Errorf("-%s '': %v, want an error that says how to turn it off", name, err)
		}
	}
}

// TestHelp: -h prints the usage and is not an error of the server.
func TestHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("run(-h) = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"Usage: pxelator", "-dhcp", "-state", "or off"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

// TestPortInUse: a port the server cannot bind stops the start with one
// line naming the address, the reason and the fix, and nothing serves.
func TestPortInUse(t *testing.T) {
	held, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.LocalAddr().String()
	dir := t.TempDir()
	var out bytes.Buffer
	err = run(context.Background(), []string{"-conf", filepath.Join(dir, "conf"), "-state", filepath.Join(dir, "state"),
		"-root", filepath.Join(dir, "root"), "-profiles", filepath.Join(dir, "profiles"),
		"-server-ip", "127.0.0.1", "-audit", "none", "-dhcp", "off", "-tftp", "127.0.0.1:0", "-http", "off", "-syslog", "off",
		"-dns", addr}, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil {
		t.Fatal("run served although the DNS port is taken")
	}
	for _, want := range []string{"cannot listen on " + addr + " (-dns)", "address already in use", "another program holds it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(out.String(), "serving segment") {
		t.Errorf("start-up lines printed although the start failed:\n%s", out.String())
	}
}

func TestListenErrorHints(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&os.SyscallError{Syscall: "bind", Err: syscall.EACCES}, "CAP_NET_BIND_SERVICE"},
		{&os.SyscallError{Syscall: "bind", Err: syscall.EADDRINUSE}, "another program holds it"},
		{&os.SyscallError{Syscall: "bind", Err: syscall.EADDRNOTAVAIL}, "no interface of this host has that address"},
		{errors.New("odd"), "another address, or off"},
	}
	for _, tt := range tests {
		got := listenError("tftp", ":69", tt.err).Error()
		if !strings.Contains(got, tt.want) || !strings.Contains(got, "cannot listen on :69 (-tftp)") {
			t.Errorf("listenError(%v) = %q, want it to name the port and say %q", tt.err, got, tt.want)
		}
	}
}

func TestPickServerIP(t *testing.T) {
	lo := ifaceAddrs{name: "lo", loopback: true, addrs: addrs("127.0.0.1")}
	eth0 := ifaceAddrs{name: "eth0", addrs: addrs("10.0.0.1")}
	eth1 := ifaceAddrs{name: "eth1", addrs: addrs("192.168.1.5")}
	tests := []struct {
		flag           string
		ifaces         []ifaceAddrs
		ip, iface, why string
		bad            bool
	}{
		{"", []ifaceAddrs{lo}, "127.0.0.1", "lo", "serving loopback only", false},
		{"", []ifaceAddrs{lo, eth0}, "10.0.0.1", "eth0", "the only address not on loopback, on eth0", false},
		{"", []ifaceAddrs{lo, eth0, eth1}, "10.0.0.1", "eth0", "first of 2 candidates (eth0 10.0.0.1, eth1 192.168.1.5)", false},
		{"192.168.1.5", []ifaceAddrs{lo, eth0, eth1}, "192.168.1.5", "eth1", "-server-ip, on eth1", false},
		{"10.9.9.9", []ifaceAddrs{lo, eth0}, "10.9.9.9", "", "no interface of this host has it", false},
		{"fe80::1", nil, "", "", "", true},
		{"nonsense", nil, "", "", "", true},
	}
	for _, tt := range tests {
		ip, iface, why, err := pickServerIP(tt.flag, tt.ifaces)
		if (err != nil) != tt.bad {
			t.Errorf("pickServerIP(%q): error %v", tt.flag, err)
			continue
		}
		if err == nil && (ip.String() != tt.ip || iface != tt.iface || !strings.Contains(why, tt.why)) {
			t.Errorf("pickServerIP(%q, %v) = %v %q %q, want %s %q %q", tt.flag, tt.ifaces, ip, iface, why, tt.ip, tt.iface, tt.why)
		}
	}
}

// TestSignals builds the server and checks that SIGTERM stops it
// cleanly, and that -h exits 0.
func TestSignals(t *testing.T) {
	bin := buildServer(t)
	if out, err := exec.Command(bin, "-h").CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Usage: pxelator")) {
		t.Errorf("pxelator -h: %v\n%s", err, out)
	}
	var stdout syncbuf.Buffer
	dir := t.TempDir()
	args := append([]string{"-conf", filepath.Join(dir, "conf"), "-state", filepath.Join(dir, "state"), "-root", filepath.Join(dir, "root"),
		"-profiles", filepath.Join(dir, "profiles"), "-server-ip", "127.0.0.1", "-audit", "none"}, loopbackFlags...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "listening:") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stdout.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no exit after SIGTERM\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "pxelator: stopped") {
		t.Errorf("no stop line in %q", stdout.String())
	}
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
)

// buildServer builds the reference server once for the tests that run
// it as a process.
func buildServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pxelator-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildBin = filepath.Join(dir, "pxelator")
		cmd := exec.Command("go", "build", "-o", buildBin, ".")
		cmd.Dir = pkgDir
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// loopbackFlags keep the protocol services of the server under test on
// loopback and ephemeral ports; the monitor, whose ICMP socket needs root
// or a ping group, is tested on its own (TestScheduleAndPing).
var loopbackFlags = []string{
	"-dhcp", "127.0.0.1:0", "-tftp", "127.0.0.1:0", "-http", "127.0.0.1:0",
	"-dns", "127.0.0.1:0", "-syslog", "127.0.0.1:0", "-ping", "off",
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// pkgDir is this package's source directory; the tests run in a
// temporary one, so that a default such as -profiles ./profiles never
// writes into the source tree.
var pkgDir string

func TestMain(m *testing.M) {
	var err error
	if pkgDir, err = os.Getwd(); err != nil {
		panic(err)
	}
	work, err := os.MkdirTemp("", "pxelator-test")
	if err != nil {
		panic(err)
	}
	if err := os.Chdir(work); err != nil {
		panic(err)
	}
	code := m.Run()
	os.Chdir(pkgDir)
	os.RemoveAll(work)
	if buildBin != "" {
		os.RemoveAll(filepath.Dir(buildBin))
	}
	os.Exit(code)
}
