package syslogd_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/syslogd"
	"github.com/pxelator/pxelator/syslogd/syslogtest"
)

// testTimeout bounds every wait; a loaded machine is slow, never wrong.
const testTimeout = 60 * time.Second

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// kioskStore holds kiosk-01 at 127.0.0.1, where the tests send from.
func kioskStore(t testing.TB) pxelator.Store {
	t.Helper()
	store := memstore.New()
	m := pxelator.Machine{
		MAC:      net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x0a, 0x3d},
		IP:       netip.MustParseAddr("127.0.0.1"),
		Hostname: "kiosk-01",
	}
	m.SetSecret("amt.password", "hunter2")
	if err := store.Put(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return store
}

// startServer starts srv with a Recorder as its handler when it has none.
func startServer(t *testing.T, srv *syslogd.Server) (*syslogtest.Server, *syslogtest.Recorder) {
	t.Helper()
	rec := &syslogtest.Recorder{}
	if srv.Handler == nil {
		srv.Handler = rec
	}
	ts := syslogtest.NewServer(srv)
	t.Cleanup(func() { ts.Close() })
	return ts, rec
}

func dial(t *testing.T, network string, addr netip.AddrPort) net.Conn {
	t.Helper()
	c, err := net.DialTimeout(network, addr.String(), testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatal(err)
	}
}

func TestServerReceives(t *testing.T) {
	ts, rec := startServer(t, &syslogd.Server{Store: kioskStore(t)})
	ctx := testContext(t)

	u := dial(t, "udp", ts.UDPAddr)
	write(t, u, "<6>Nov 24 11:30:56 kiosk-01 kernel: over udp")
	if _, err := rec.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c := dial(t, "tcp", ts.TCPAddr)
	write(t, c, "<30>Nov 24 11:30:57 kiosk-01 systemd[1]: newline framed\n")
	msg := "<165>1 2026-11-24T11:30:58Z kiosk-01 app 42 ID7 - octet\ncounted"
	write(t, c, fmt.Sprintf("%d %s", len(msg), msg))
	write(t, c, "not syslog at all\n")
	msgs, err := rec.Wait(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		net, text, raw string
		malformed      bool
	}{
		{"udp", "over udp", "", false},
		{"tcp", "newline framed", "", false},
		{"tcp", "octet\ncounted", "", false},
		{"tcp", "", "not syslog at all", true},
	}
	for i, w := range want {
		m := msgs[i]
		if m.Network != w.net || m.Text != w.text || (m.Err != nil) != w.malformed {
			t.Errorf("message %d: %s %q err %v, want %s %q malformed %v", i, m.Network, m.Text, m.Err, w.net, w.text, w.malformed)
		}
		if w.raw != "" && m.Raw != w.raw {
			t.Errorf("message %d: raw %q, want %q", i, m.Raw, w.raw)
		}
		if m.Machine == nil || m.Machine.Hostname != "kiosk-01" || m.Sender() != "kiosk-01" {
			t.Errorf("message %d: machine %v, want kiosk-01", i, m.Machine)
		}
		if m.Source.Addr() != netip.MustParseAddr("127.0.0.1") || m.Received.IsZero() {
			t.Errorf("message %d: source %v received %v", i, m.Source, m.Received)
		}
		if s := m.String(); !strings.HasPrefix(s, "kiosk-01 ") || strings.Contains(s, "hunter2") {
			t.Errorf("message %d: String() = %q", i, s)
		}
	}
	st := ts.Stats()
	if st.Messages != 4 || st.UDPMessages != 1 || st.Malformed != 1 || st.Conns != 1 || st.ActiveConns != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestServerUnknownSender(t *testing.T) {
	ts, rec := startServer(t, &syslogd.Server{Store: memstore.New()})
	write(t, dial(t, "udp", ts.UDPAddr), "<13>Nov 24 11:30:56 h t: x")
	msgs, err := rec.Wait(testContext(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Machine != nil || msgs[0].Sender() != "127.0.0.1" {
		t.Errorf("machine %v sender %q, want none and 127.0.0.1", msgs[0].Machine, msgs[0].Sender())
	}
}

func TestServerCutsOversizedMessages(t *testing.T) {
	const max = 1024
	ts, rec := startServer(t, &syslogd.Server{MaxMessageSize: max})
	ctx := testContext(t)
	big := "<13>Nov 24 11:30:56 h t: " + strings.Repeat("x", 70<<10)

	write(t, dial(t, "udp", ts.UDPAddr), big[:60000])
	if _, err := rec.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c := dial(t, "tcp", ts.TCPAddr)
	write(t, c, big+"\n")
	write(t, c, fmt.Sprintf("%d %s", len(big), big))
	write(t, c, "<13>Nov 24 11:30:56 h t: small\n")
	msgs, err := rec.Wait(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs[:3] {
		if !m.Truncated || len(m.Raw) != max || m.Raw != big[:max] {
			t.Errorf("message %d: truncated %v, %d bytes, want cut to %d", i, m.Truncated, len(m.Raw), max)
		}
	}
	if m := msgs[3]; m.Truncated || m.Text != "small" {
		t.Errorf("after the big ones: %q truncated %v", m.Text, m.Truncated)
	}
	if st := ts.Stats(); st.Truncated != 3 {
		t.Errorf("Stats.Truncated = %d, want 3", st.Truncated)
	}
}

// TestServerDropsStalledClient sends a length prefix and nothing more: the
// server must hang up after ReadTimeout and count it.
func TestServerDropsStalledClient(t *testing.T) {
	ts, rec := startServer(t, &syslogd.Server{ReadTimeout: 200 * time.Millisecond})
	ctx := testContext(t)
	c := dial(t, "tcp", ts.TCPAddr)
	write(t, c, "100 ")
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read from the stalled connection: %v, want EOF", err)
	}
	// A client that begins a message and stalls in it loses nothing it sent.
	c = dial(t, "tcp", ts.TCPAddr)
	write(t, c, "100 <13>Nov 24 11:30:56 h t: half")
	msgs, err := rec.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m := msgs[0]; !m.Truncated || m.Text != "half" {
		t.Errorf("stalled message: %q truncated %v", m.Text, m.Truncated)
	}
	for ts.Stats().Timeouts != 2 || ts.Stats().ActiveConns != 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("Stats = %+v, want 2 timeouts", ts.Stats())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestServerIdleTimeout(t *testing.T) {
	ts, _ := startServer(t, &syslogd.Server{IdleTimeout: 100 * time.Millisecond})
	c := dial(t, "tcp", ts.TCPAddr)
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read from the idle connection: %v, want EOF", err)
	}
}

func TestServerMaxConns(t *testing.T) {
	ts, rec := startServer(t, &syslogd.Server{MaxConns: 2})
	ctx := testContext(t)
	for i := range 2 {
		write(t, dial(t, "tcp", ts.TCPAddr), fmt.Sprintf("<13>Nov 24 11:30:56 h t: conn %d\n", i))
	}
	if _, err := rec.Wait(ctx, 2); err != nil {
		t.Fatal(err)
	}
	c := dial(t, "tcp", ts.TCPAddr)
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("third connection was not closed")
	}
	if st := ts.Stats(); st.ConnsRefused != 1 || st.Conns != 2 {
		t.Errorf("Stats = %+v, want 2 connections and 1 refused", st)
	}
}

// TestServerMaxConnsPerHost: one host cannot hold every connection; by
// default it gets DefaultMaxConnsPerHost, and another host is still let
// in.
func TestServerMaxConnsPerHost(t *testing.T) {
	ts, rec := startServer(t, &syslogd.Server{})
	ctx := testContext(t)
	n := syslogd.DefaultMaxConnsPerHost
	if n < 1 || n >= syslogd.DefaultMaxConns/4 {
		t.Fatalf("DefaultMaxConnsPerHost = %d: want a few, well under DefaultMaxConns (%d)", n, syslogd.DefaultMaxConns)
	}
	for i := range n {
		write(t, dial(t, "tcp", ts.TCPAddr), fmt.Sprintf("<13>Nov 24 11:30:56 h t: conn %d\n", i))
	}
	if _, err := rec.Wait(ctx, n); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c := dial(t, "tcp", ts.TCPAddr)
		c.SetReadDeadline(time.Now().Add(testTimeout))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("a connection over the host's limit was not closed")
		}
	}
	// Another host (another loopback address) is let in.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: testTimeout}
	c, err := d.DialContext(ctx, "tcp", ts.TCPAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	write(t, c, "<13>Nov 24 11:30:56 h t: another host\n")
	if _, err := rec.Wait(ctx, n+1); err != nil {
		t.Fatal(err)
	}
	if st := ts.Stats(); st.HostConnsRefused != 3 || st.Conns != uint64(n+1) || st.ConnsRefused != 0 {
		t.Errorf("Stats = %+v, want %d connections and 3 refused for their host", st, n+1)
	}
}

// TestServerTCPFlood sends many messages over several connections at once:
// every one arrives, in order per connection.
func TestServerTCPFlood(t *testing.T) {
	const conns, per = 4, 5000
	ts, rec := startServer(t, &syslogd.Server{})
	errc := make(chan error, conns)
	for i := range conns {
		c := dial(t, "tcp", ts.TCPAddr)
		go func() {
			w := bufio.NewWriter(c)
			for j := range per {
				if j%2 == 0 {
					fmt.Fprintf(w, "<13>Nov 24 11:30:56 h c%d: %d\n", i, j)
				} else {
					m := fmt.Sprintf("<13>1 2026-11-24T11:30:56Z h c%d - - - %d", i, j)
					fmt.Fprintf(w, "%d %s", len(m), m)
				}
			}
			errc <- w.Flush()
		}()
	}
	for range conns {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := rec.Wait(testContext(t), conns*per)
	if err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, m := range msgs {
		if m.Err != nil {
			t.Fatalf("malformed: %q: %v", m.Raw, m.Err)
		}
		if want := fmt.Sprint(next[m.AppName]); m.Text != want {
			t.Fatalf("%s: message %q, want %q", m.AppName, m.Text, want)
		}
		next[m.AppName]++
	}
}

func TestServerShutdown(t *testing.T) {
	srv := &syslogd.Server{Handler: &syslogtest.Recorder{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(l) }()
	go func() { errc <- srv.ServePacket(pc) }()
	c := dial(t, "tcp", l.Addr().(*net.TCPAddr).AddrPort())
	write(t, c, "<13>Nov 24 11:30:56 h t: x\n")
	ctx := testContext(t)
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errc; !errors.Is(err, syslogd.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	}
	c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("open connection not closed by Shutdown")
	}
	if err := srv.Serve(l); !errors.Is(err, syslogd.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

// TestServerIPv6 receives over IPv6 loopback, UDP (read in batches) and
// TCP.
func TestServerIPv6(t *testing.T) {
	pc, err := net.ListenPacket("udp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		pc.Close()
		t.Skipf("no IPv6 loopback: %v", err)
	}
	rec := &syslogtest.Recorder{}
	srv := &syslogd.Server{Handler: rec}
	go srv.ServePacket(pc)
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	write(t, dial(t, "udp", pc.LocalAddr().(*net.UDPAddr).AddrPort()), "<13>Nov 24 11:30:56 h t: over udp6")
	write(t, dial(t, "tcp", l.Addr().(*net.TCPAddr).AddrPort()), "<13>Nov 24 11:30:56 h t: over tcp6\n")
	msgs, err := rec.Wait(testContext(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Source.Addr() != netip.IPv6Loopback() || !strings.HasPrefix(m.Text, "over ") {
			t.Errorf("%s message from %v: %q", m.Network, m.Source, m.Text)
		}
	}
}

// TestServerUDPFlood floods a server whose handler is stuck: what does not
// fit in the server's queue and the socket's buffer is dropped, and every
// datagram is accounted for, received or counted as dropped.
func TestServerUDPFlood(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("drop counts (SO_RXQ_OVFL) are Linux only")
	}
	const flood = 100000
	release := make(chan struct{})
	seen := make(chan string, 1)
	h := syslogd.HandlerFunc(func(ctx context.Context, m *syslogd.Message) {
		<-release
		if strings.HasPrefix(m.Text, "marker") {
			select {
			case seen <- m.Text:
			default:
			}
		}
	})
	ts, _ := startServer(t, &syslogd.Server{Handler: h})
	ctx := testContext(t)
	c := dial(t, "udp", ts.UDPAddr)
	line := "<13>Nov 24 11:30:56 h flood: " + strings.Repeat("x", 150)
	backlogDrops := softnetDrops(t)
	sent := 0
	for range flood {
		if _, err := io.WriteString(c, line); err == nil {
			sent++
		}
	}
	close(release)
	// A marker that arrives tells how many were dropped before it.
	for k := 0; !markerArrives(t, ctx, c, fmt.Sprintf("marker %d", k), seen); k++ {
		sent++
	}
	sent++
	st := ts.Stats()
	t.Logf("sent %d, received %d, dropped %d by the server and %d by the kernel", sent, st.UDPMessages, st.UDPDropped, st.UDPKernelDropped)
	// Datagrams dropped before they reach the socket, in the per-CPU
	// backlog of a loaded machine, are not the socket's to count.
	missing := uint64(sent) - st.UDPMessages - st.UDPDropped - st.UDPKernelDropped
	if backlog := softnetDrops(t) - backlogDrops; missing != 0 && missing > backlog {
		t.Errorf("received %d + dropped %d + %d != sent %d (%d dropped in the backlog)", st.UDPMessages, st.UDPDropped, st.UDPKernelDropped, sent, backlog)
	}
}

// markerArrives sends marker and reports whether the handler saw it
// within 200ms.
func markerArrives(t *testing.T, ctx context.Context, c net.Conn, marker string, seen <-chan string) bool {
	write(t, c, "<13>Nov 24 11:30:56 h t: "+marker)
	timeout := time.After(200 * time.Millisecond)
	for {
		select {
		case got := <-seen:
			if got == marker {
				return true
			}
		case <-timeout:
			return false
		case <-ctx.Done():
			t.Fatal("no marker arrived")
		}
	}
}

// softnetDrops returns the packets all CPUs dropped from their input
// backlog (/proc/net/softnet_stat, second column).
func softnetDrops(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		t.Skipf("no /proc/net/softnet_stat: %v", err)
	}
	var sum uint64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(line); len(f) > 1 {
			n, _ := strconv.ParseUint(f[1], 16, 64)
			sum += n
		}
	}
	return sum
}
