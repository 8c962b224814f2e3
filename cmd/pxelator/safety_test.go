package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/internal/netnstest"
	"github.com/pxelator/pxelator/internal/syncbuf"
)

// TestSafeByDefault runs the reference server with its default flags
// (and -power-poll) in a network namespace of its own, as an attacker on
// the boot segment sees it from another:
//   - a stranger's DNS query switches nothing: command names are refused;
//   - a BMC password written as a plain 0644 file is a secret all the
//     same: the power poll that fails on it logs the machine without it,
//     and neither the log nor the audit database holds it;
//   - an idle HTTP connection is closed, one that sends nothing and one
//     kept alive after a request, and connections beyond the limit wait.
func TestSafeByDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the server in network namespaces for a minute")
	}
	netnstest.Need(t)
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Skip("dig not installed (Debian: bind9-dnsutils)")
	}
	bin := buildServer(t)
	const (
		server = "10.79.0.1"
		client = "10.79.0.50"
		kiosk  = "10.79.0.61"
		secret = "hunter2-world-readable"
	)
	srvNS, cliNS := netnstest.New(t, "pxs"), netnstest.New(t, "pxc")
	netnstest.Veth(t, srvNS, "veth-srv", cliNS, "veth-cli")
	srvNS.IP(t, "addr", "add", server+"/24", "dev", "veth-srv")
	cliNS.IP(t, "addr", "add", client+"/24", "dev", "veth-cli")

	dir := t.TempDir()
	conf, state := filepath.Join(dir, "conf"), filepath.Join(dir, "state")
	machine := filepath.Join(conf, server, kiosk)
	if err := os.MkdirAll(machine, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{
		"mac": "52:54:00:00:0a:3d", "hostname": "kiosk-01",
		"amt.address":  "http://127.0.0.1:1", // nothing listens: every poll fails
		"amt.password": secret,               // as echo leaves it: mode 0644
	} {
		if err := os.WriteFile(filepath.Join(machine, name), []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var out syncbuf.Buffer
	srv := srvNS.Command(context.Background(), bin, "-conf", conf, "-state", state,
		"-root", filepath.Join(dir, "tftpboot"), "-profiles", filepath.Join(dir, "profiles"), "-power-poll", "1s")
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { srv.Wait(); close(exited) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			srv.Process.Kill()
			<-exited
			t.Error("the server did not stop on SIGTERM")
		}
	}
	defer func() {
		stop()
		if t.Failed() {
			t.Logf("server output:\n%s", out.String())
		}
	}()
	waitFor(t, &out, exited, "listening:", 60*time.Second)
	for _, want := range []string{"serving segment " + server, "commands under do.pxe off", ":53 ", ":80 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up lines lack %q", want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// The HTTP connections are opened first: their timeouts run while
	// the rest is checked.
	var silent, kept net.Conn
	cliNS.Do(t, func() error {
		var err error
		if silent, err = net.Dial("tcp", server+":80"); err != nil {
			return err
		}
		kept, err = net.Dial("tcp", server+":80")
		return err
	})
	defer silent.Close()
	defer kept.Close()
	opened := time.Now()
	fmt.Fprintf(kept, "GET /boot/nothing HTTP/1.1\r\nHost: %s\r\n\r\n", server)
	resp, err := readResponse(kept)
	if err != nil || !strings.HasPrefix(resp, "HTTP/1.1 404") {
		t.Fatalf("a request on the kept-alive connection: %q, %v", resp, err)
	}
	closedSilent, closedKept := closedWithin(silent, 4*time.Minute), closedWithin(kept, 4*time.Minute)

	t.Run("StrangersDNSQuerySwitchesNothing", func(t *testing.T) {
		digOut := func(args ...string) string {
			c := cliNS.Command(ctx, dig, append([]string{"@" + server, "+time=10", "+tries=1"}, args...)...)
			b, err := c.CombinedOutput()
			if err != nil {
				t.Fatalf("dig %s: %v\n%s", strings.Join(args, " "), err, b)
			}
			return string(b)
		}
		if got := digOut("kiosk-01.pxe", "A", "+short"); strings.TrimSpace(got) != kiosk {
			t.Fatalf("kiosk-01.pxe from a neighbour: %q, want %s", got, kiosk)
		}
		for _, q := range [][]string{
			{"netboot.off.kiosk-01.do.pxe", "A"},
			{"+tcp", "netboot.off.kiosk-01.do.pxe", "A"},
			{"off.kiosk-01.do.pxe", "A"},
			{"+tcp", "cycle.kiosk-01.do.pxe", "A"},
			{"wake.kiosk-01.do.pxe", "A"},
		} {
			if got := digOut(q...); !strings.Contains(got, "status: REFUSED") {
				t.Errorf("dig %s from a neighbour: want REFUSED\n%s", strings.Join(q, " "), got)
			}
		}
		time.Sleep(500 * time.Millisecond) // a command that ran would write the machine now
		if _, err := os.Stat(filepath.Join(machine, "netboot")); err == nil {
			t.Error("a stranger's query turned the kiosk's network boot off")
		}
	})

	t.Run("WorldReadablePasswordNotLogged", func(t *testing.T) {
		waitFor(t, &out, exited, "power: reading the state", time.Minute)
		if strings.Contains(out.String(), secret) {
			t.Errorf("the server logged the password:\n%s", grepLines(out.String(), secret))
		}
		if !strings.Contains(grepLines(out.String(), "power: reading the state"), `amt.password=[secret]`) {
			t.Errorf("the failed poll does not name the password as a secret:\n%s", grepLines(out.String(), "power:"))
		}
		if fi, err := os.Stat(filepath.Join(machine, "amt.password")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("amt.password: %v, %v; want it made mode 0600", fi.Mode(), err)
		}
		ignore, err := os.ReadFile(filepath.Join(conf, ".gitignore"))
		if err != nil || !strings.Contains(string(ignore), "*.[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]") {
			t.Errorf("conf/.gitignore = %q, %v; want the passwords kept out of git", ignore, err)
		}
	})

	t.Run("IdleHTTPConnectionClosed", func(t *testing.T) {
		for name, closed := range map[string]<-chan error{"silent": closedSilent, "kept alive": closedKept} {
			if err := <-closed; err != nil {
				t.Errorf("the %s connection: %v", name, err)
			}
		}
		t.Logf("idle connections closed after %.0f s", time.Since(opened).Seconds())
	})

	t.Run("HTTPConnectionLimit", func(t *testing.T) {
		// httpMaxConns connections kept alive after a request hold every
		// place; one more waits until one of them goes.
		held := make([]net.Conn, httpMaxConns)
		var extra net.Conn
		start := time.Now()
		cliNS.Do(t, func() error {
			for i := range held {
				c, err := net.Dial("tcp", server+":80")
				if err != nil {
					return fmt.Errorf("connection %d: %w", i, err)
				}
				held[i] = c
			}
			var err error
			extra, err = net.Dial("tcp", server+":80") // the kernel accepts it; the server does not yet
			return err
		})
		defer func() {
			for _, c := range held {
				c.Close()
			}
			extra.Close()
		}()
		for i, c := range held {
			fmt.Fprintf(c, "GET /boot/nothing HTTP/1.1\r\nHost: %s\r\n\r\n", server)
			if _, err := readResponse(c); err != nil {
				t.Fatalf("connection %d of %d: %v", i, httpMaxConns, err)
			}
		}
		fmt.Fprintf(extra, "GET /boot/nothing HTTP/1.1\r\nHost: %s\r\n\r\n", server)
		extra.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := extra.Read(make([]byte, 1))
		if time.Since(start) > httpIdleTimeout*3/4 {
			t.Skipf("opening %d connections took %v: the first may have idled out", httpMaxConns, time.Since(start))
		}
		if n > 0 || err == nil {
			t.Fatalf("connection %d was served while %d were open", httpMaxConns+1, httpMaxConns)
		}
		held[0].Close()
		extra.SetReadDeadline(time.Now().Add(time.Minute))
		if resp, err := readResponse(extra); err != nil || !strings.HasPrefix(resp, "HTTP/1.1 404") {
			t.Errorf("connection %d once one closed: %q, %v", httpMaxConns+1, resp, err)
		}
	})

	// Stopped, the server has written its audit: the password is not in it.
	stop()
	for _, f := range []string{"audit.db", "audit.db-wal"} {
		b, err := os.ReadFile(filepath.Join(state, f))
		if err != nil && f == "audit.db" {
			t.Errorf("no audit database: %v", err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the password is in %s", f)
		}
	}
	if !strings.Contains(out.String(), "pxelator: stopped") {
		t.Errorf("the server did not stop cleanly")
	}
}

// waitFor waits until the server's output has s, or fails t when the
// server exits or timeout passes.
func waitFor(t *testing.T, out *syncbuf.Buffer, exited <-chan struct{}, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(out.String(), s) {
		select {
		case <-exited:
			t.Fatalf("the server exited before saying %q", s)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not say %q in %v", s, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readResponse reads one HTTP response, its body included when it has a
// Content-Length, and returns its status line.
func readResponse(c net.Conn) (string, error) {
	c.SetReadDeadline(time.Now().Add(time.Minute))
	defer c.SetReadDeadline(time.Time{})
	r := bufio.NewReader(c)
	status, err := r.ReadString('\n')
	if err != nil {
		return status, err
	}
	length := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return status, err
		}
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length:"); ok {
			fmt.Sscan(strings.TrimSpace(v), &length)
		}
	}
	_, err = io.CopyN(io.Discard, r, int64(length))
	if r.Buffered() > 0 {
		return status, fmt.Errorf("more than one response")
	}
	return strings.TrimSpace(status), err
}

// closedWithin reports, on the channel, nil once the server closes c, or
// an error when it sends something or max passes.
func closedWithin(c net.Conn, max time.Duration) <-chan error {
	done := make(chan error, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(max))
		n, err := c.Read(make([]byte, 1))
		switch {
		case n > 0:
			done <- fmt.Errorf("the server sent data instead of closing")
		case err == io.EOF || err != nil && strings.Contains(err.Error(), "connection reset"):
			done <- nil
		default:
			done <- fmt.Errorf("not closed in %v: %v", max, err)
		}
	}()
	return done
}

// grepLines returns the lines of s that hold sub.
func grepLines(s, sub string) string {
	var b strings.Builder
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			b.WriteString(l)
		}
	}
	return b.String()
}

// TestSecretsNotInTemplates: a password written as a plain file (0644) in
// the conf tree does not reach a boot template, through the store the
// server opens and the boot files it serves.
func TestSecretsNotInTemplates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	machine := filepath.Join(conf, "10.0.0.1", "10.0.0.61")
	profiles := filepath.Join(dir, "profiles")
	for path, value := range map[string]string{
		filepath.Join(machine, "mac"):                    "52:54:00:00:0a:3d",
		filepath.Join(machine, "profile"):                "kiosk",
		filepath.Join(machine, "amt.password"):           "hunter2-in-a-template",
		filepath.Join(machine, "kiosk.on"):               "07:30",
		filepath.Join(profiles, "kiosk", "pxelinux.cfg"): `on={{.Attr "kiosk.on"}} pw={{.Attr "amt.password"}}`,
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := parseFlags([]string{"-conf", conf, "-state", filepath.Join(dir, "state"), "-server-ip", "10.0.0.1", "-dhcp", "off"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	store, err := openStore(ctx, set, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	files := &boot.Files{Root: filepath.Join(dir, "tftpboot"), Profiles: profiles, Store: store}
	f, err := files.Open(ctx, boot.Request{Name: "pxelinux.cfg/01-52-54-00-00-0a-3d", Server: netip.MustParseAddr("10.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f.Content)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != "on=07:30 pw=" {
		t.Errorf("the template rendered %q, want the password left out", got)
	}
}
