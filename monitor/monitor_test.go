package monitor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/monitor"
	"github.com/pxelator/pxelator/monitor/monitortest"
)

func ip(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}) }

func machine(i int, ipa netip.Addr) pxelator.Machine {
	return pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 1, byte(i >> 8), byte(i)}, IP: ipa, Hostname: fmt.Sprintf("host-%d", i)}
}

// alerts collects alerts.
type alerts struct {
	mu   sync.Mutex
	list []monitor.Alert
}

func (a *alerts) Alert(ctx context.Context, al monitor.Alert) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, al)
	return nil
}

// of returns the states alerted for ip, in order.
func (a *alerts) of(ip netip.Addr) []monitor.State {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []monitor.State
	for _, al := range a.list {
		if al.IP == ip {
			out = append(out, al.State)
		}
	}
	return out
}

// expecter says that the machines in it are expected down.
type expecter struct {
	mu   sync.Mutex
	down map[netip.Addr]bool
}

func (e *expecter) set(ip netip.Addr, down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.down == nil {
		e.down = map[netip.Addr]bool{}
	}
	e.down[ip] = down
}

func (e *expecter) ExpectedDown(m pxelator.Machine, t time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.down[m.IP]
}

// rig runs a monitor over a fake network.
type rig struct {
	t      *testing.T
	store  *memstore.Store
	conn   *monitortest.Conn
	rec    *audittest.Recorder
	alerts *alerts
	exp    *expecter
	mon    *monitor.Monitor
}

func newRig(t *testing.T, n int, opts monitor.Options) *rig {
	t.Helper()
	r := &rig{t: t, store: memstore.New(), conn: monitortest.NewConn(), rec: &audittest.Recorder{}, alerts: &alerts{}, exp: &expecter{}}
	for i := 1; i <= n; i++ {
		r.put(machine(i, ip(i)))
		r.conn.SetUp(ip(i), 0)
	}
	if opts.Interval == 0 {
		opts.Interval = 5 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Millisecond
	}
	opts.Recorder, opts.Alerter, opts.Expected = r.rec, r.alerts, r.exp
	opts.Logger = slog.New(slog.DiscardHandler)
	r.mon = monitor.New(r.store, &opts)
	runMonitor(t, r.mon, r.conn)
	return r
}

// runMonitor runs mon on conn until the test ends.
func runMonitor(t *testing.T, mon *monitor.Monitor, conn monitor.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mon.Run(ctx, conn) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// waitFor waits (30 s at most, a bound for a stuck test, not a timing)
// until ok holds.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
	}
}

func (r *rig) put(m pxelator.Machine) {
	r.t.Helper()
	if err := r.store.Put(context.Background(), m); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) waitFor(what string, ok func() bool) {
	r.t.Helper()
	waitFor(r.t, what, ok)
}

func (r *rig) state(ipa netip.Addr) monitor.State {
	st, _ := r.mon.Status(ipa)
	return st.State
}

// rounds waits until ipa was pinged n more times.
func (r *rig) rounds(ipa netip.Addr, n int) {
	r.t.Helper()
	start := r.conn.Sent(ipa)
	r.waitFor(fmt.Sprintf("%d more pings of %v", n, ipa), func() bool { return r.conn.Sent(ipa) >= start+n })
}

// transitions returns the monitor events of ipa as "from>to".
func (r *rig) transitions(ipa netip.Addr) []string {
	var out []string
	for _, e := range r.rec.Find("monitor", "") {
		if e.IP == ipa && e.Action != "alert" {
			out = append(out, e.Fields["from"].(string)+">"+e.Action)
		}
	}
	return out
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestUpDownWithOneAlertEach(t *testing.T) {
	r := newRig(t, 3, monitor.Options{DownAfter: 3})
	a, b, c := ip(1), ip(2), ip(3)
	for _, x := range []netip.Addr{a, b, c} {
		r.waitFor(fmt.Sprint(x, " up"), func() bool { return r.state(x) == monitor.Up })
	}
	// b stops answering; c too, but its schedule switched it off.
	r.exp.set(c, true)
	r.conn.SetDown(b)
	r.conn.SetDown(c)
	r.waitFor("b down", func() bool { return r.state(b) == monitor.Down })
	r.waitFor("c down", func() bool { return r.state(c) == monitor.Down })
	r.rounds(b, 10)
	r.waitFor("the down alert", func() bool { return len(r.alerts.of(b)) == 1 })
	equal(t, "alerts of b while down", r.alerts.of(b), []monitor.State{monitor.Down})
	equal(t, "alerts of c (expected down)", r.alerts.of(c), nil)
	if st, _ := r.mon.Status(c); !st.Expected || st.Misses < 10 {
		t.Errorf("status of c %+v, want expected down with many misses", st)
	}
	if st, _ := r.mon.Status(b); st.Expected || st.Since.IsZero() || st.LastReply.IsZero() {
		t.Errorf("status of b %+v", st)
	}
	// b answers again.
	r.conn.SetUp(b, 0)
	r.waitFor("b up", func() bool { return r.state(b) == monitor.Up })
	r.rounds(b, 10)
	r.waitFor("the up alert", func() bool { return len(r.alerts.of(b)) == 2 })
	equal(t, "alerts of b", r.alerts.of(b), []monitor.State{monitor.Down, monitor.Up})
	equal(t, "alerts of a", r.alerts.of(a), nil)
	equal(t, "transitions of b", r.transitions(b), []string{"unknown>up", "up>down", "down>up"})
	equal(t, "transitions of a", r.transitions(a), []string{"unknown>up"})
	// c's expected down: an event with expected true, no alert.
	for _, e := range r.rec.Find("monitor", "down") {
		if e.IP == c && e.Fields["expected"] != true {
			t.Errorf("down event of c: %v", e.Fields)
		}
		if e.IP == b && (e.Fields["expected"] != false || e.Fields["misses"] != 3) {
			t.Errorf("down event of b: %v", e.Fields)
		}
	}
	if alertEvents := r.rec.Find("monitor", "alert"); len(alertEvents) != 2 {
		t.Errorf("%d alert events, want 2", len(alertEvents))
	}
	// Every reply is a ping event with a round-trip time in ms.
	replies := r.rec.Find("ping", "reply")
	if len(replies) < 20 {
		t.Fatalf("%d reply events", len(replies))
	}
	for _, e := range replies[:20] {
		rtt, ok := e.Fields["rtt"].(float64)
		if !ok || rtt < 0 || rtt > 30000 || !e.IP.IsValid() || e.MAC == nil || e.Hostname == "" {
			t.Fatalf("reply event %+v", e)
		}
	}
}

func TestExpectedDownEnds(t *testing.T) {
	r := newRig(t, 1, monitor.Options{DownAfter: 2})
	a := ip(1)
	r.waitFor("up", func() bool { return r.state(a) == monitor.Up })
	r.exp.set(a, true)
	r.conn.SetDown(a)
	r.waitFor("down", func() bool { return r.state(a) == monitor.Down })
	r.rounds(a, 5)
	equal(t, "alerts while expected down", r.alerts.of(a), nil)
	// The schedule switched it on (and the boot grace passed), but it
	// does not answer: that is news.
	r.exp.set(a, false)
	r.waitFor("the down alert", func() bool { return len(r.alerts.of(a)) == 1 })
	r.rounds(a, 5)
	r.conn.SetUp(a, 0)
	r.waitFor("the up alert", func() bool { return len(r.alerts.of(a)) == 2 })
	equal(t, "alerts", r.alerts.of(a), []monitor.State{monitor.Down, monitor.Up})
	equal(t, "transitions", r.transitions(a), []string{"unknown>up", "up>down", "down>up"})
}

func TestDownFromTheStart(t *testing.T) {
	r := newRig(t, 2, monitor.Options{DownAfter: 2})
	r.conn.SetDown(ip(2))
	r.waitFor("up", func() bool { return r.state(ip(1)) == monitor.Up })
	r.waitFor("down", func() bool { return r.state(ip(2)) == monitor.Down })
	r.waitFor("the alert", func() bool { return len(r.alerts.of(ip(2))) == 1 })
	r.rounds(ip(2), 5)
	equal(t, "alerts", r.alerts.of(ip(2)), []monitor.State{monitor.Down})
	equal(t, "transitions", r.transitions(ip(2)), []string{"unknown>down"})
}

func TestLateRepliesAreMisses(t *testing.T) {
	// Replies that take longer than the timeout do not count.
	r := newRig(t, 1, monitor.Options{Interval: 20 * time.Millisecond, Timeout: 5 * time.Millisecond, DownAfter: 2})
	r.waitFor("up", func() bool { return r.state(ip(1)) == monitor.Up })
	r.conn.SetUp(ip(1), 12*time.Millisecond)
	r.waitFor("down", func() bool { return r.state(ip(1)) == monitor.Down })
	r.rounds(ip(1), 3)
	if st := r.state(ip(1)); st != monitor.Down {
		t.Errorf("state %v with late replies, want down", st)
	}
}

func TestStoreChanges(t *testing.T) {
	r := newRig(t, 2, monitor.Options{})
	r.waitFor("both up", func() bool { return r.state(ip(1)) == monitor.Up && r.state(ip(2)) == monitor.Up })
	// A machine joins, one leaves, one is left out by its attribute.
	r.conn.SetUp(ip(3), 0)
	r.put(machine(3, ip(3)))
	if err := r.store.Delete(context.Background(), machine(1, ip(1)).MAC); err != nil {
		t.Fatal(err)
	}
	off := machine(2, ip(2))
	off.Set(monitor.AttrPing, "off")
	r.put(off)
	r.waitFor("the new machine up", func() bool { return r.state(ip(3)) == monitor.Up })
	r.waitFor("the others gone", func() bool {
		_, ok1 := r.mon.Status(ip(1))
		_, ok2 := r.mon.Status(ip(2))
		return !ok1 && !ok2
	})
	sent1, sent2 := r.conn.Sent(ip(1)), r.conn.Sent(ip(2))
	r.rounds(ip(3), 5)
	if r.conn.Sent(ip(1)) != sent1 || r.conn.Sent(ip(2)) != sent2 {
		t.Errorf("machines removed or with ping off are still pinged")
	}
	st := r.mon.Statuses()
	if len(st) != 1 || st[0].IP != ip(3) || st[0].Hostname != "host-3" || st[0].RTT < 0 || st[0].Received == 0 {
		t.Errorf("Statuses = %+v", st)
	}
	// A machine that moves to a new address keeps its MAC in the status.
	moved := machine(3, ip(4))
	r.conn.SetUp(ip(4), 0)
	r.put(moved)
	r.waitFor("the moved machine up", func() bool { return r.state(ip(4)) == monitor.Up })
	if st, _ := r.mon.Status(ip(4)); st.MAC.String() != moved.MAC.String() {
		t.Errorf("status of the moved machine %+v", st)
	}
}

// countingConn counts what is in flight on a network where nobody
// answers.
type countingConn struct {
	*monitortest.Conn
	sends atomic.Int64
}

func (c *countingConn) WriteEcho(ip netip.Addr, seq uint16, payload []byte) error {
	c.sends.Add(1)
	return c.Conn.WriteEcho(ip, seq, payload)
}

func TestBoundedInFlight(t *testing.T) {
	const n, maxInFlight = 10000, 50
	timeout := 20 * time.Millisecond
	store := memstore.New()
	for i := 1; i <= n; i++ {
		if err := store.Put(context.Background(), machine(i, ip(i))); err != nil {
			t.Fatal(err)
		}
	}
	conn := &countingConn{Conn: monitortest.NewConn()} // every address down
	before := runtime.NumGoroutine()
	mon := monitor.New(store, &monitor.Options{Interval: 100 * time.Millisecond, Timeout: timeout, MaxInFlight: maxInFlight, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- mon.Run(ctx, conn) }()
	for conn.sends.Load() < 1000 {
		time.Sleep(time.Millisecond)
	}
	goroutines := runtime.NumGoroutine() - before
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-done
	elapsed := time.Since(start)
	if goroutines > 4 {
		t.Errorf("%d goroutines for %d machines, want at most 4", goroutines, n)
	}
	// Each ping holds its place in flight for the whole timeout, as
	// nobody answers: no more than maxInFlight per timeout can be sent.
	if sent, most := conn.sends.Load(), int64(maxInFlight)*(int64(elapsed/timeout)+1); sent > most {
		t.Errorf("%d pings sent in %v, more than %d in flight", sent, elapsed, maxInFlight)
	}
}

func TestCommandAlert(t *testing.T) {
	out := filepath.Join(t.TempDir(), "alerts")
	al := monitor.Command(`echo "$PXELATOR_STATE $PXELATOR_IP $PXELATOR_MAC $PXELATOR_HOSTNAME $PXELATOR_MISSES" >> ` + out)
	a := monitor.Alert{Time: time.Now(), State: monitor.Down, IP: ip(7), MAC: machine(7, ip(7)).MAC, Hostname: "host-7", Misses: 3}
	if err := al.Alert(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "down 10.1.0.7 52:54:00:01:00:07 host-7 3\n"; got != want {
		t.Errorf("command saw %q, want %q", got, want)
	}
	err = monitor.Command("echo oops >&2; exit 3").Alert(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "oops") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("failing command: %v", err)
	}
}

func TestWebhookAlert(t *testing.T) {
	var got []map[string]any
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/hooks/s3cret" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "no", http.StatusTeapot)
			return
		}
		var m map[string]any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer srv.Close()
	al, err := monitor.Webhook(srv.URL+"/hooks/s3cret", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	last := time.Date(2026, 11, 27, 7, 30, 0, 0, time.UTC)
	a := monitor.Alert{Time: last.Add(30 * time.Second), State: monitor.Down, IP: ip(7), Hostname: "host-7", Misses: 3, RTT: 1500 * time.Microsecond, LastReply: last}
	if err := al.Alert(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0]["state"] != "down" || got[0]["ip"] != "10.1.0.7" || got[0]["rtt"] != 1.5 ||
		got[0]["misses"] != float64(3) || got[0]["last_reply"] != "2026-11-27T07:30:00Z" {
		t.Errorf("webhook got %v", got)
	}
	bad, _ := monitor.Webhook(srv.URL+"/hooks/wrong-s3cret", nil)
	err = bad.Alert(context.Background(), a)
	if err == nil || !strings.Contains(err.Error(), "418") || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("refused webhook: %v (must not name the secret path)", err)
	}
	for _, u := range []string{"", "ftp://x/", "http://", "::"} {
		if _, err := monitor.Webhook(u, nil); err == nil {
			t.Errorf("Webhook(%q): no error", u)
		}
	}
}

func TestAlertersTellsEach(t *testing.T) {
	var a, b alerts
	fail := monitor.AlerterFunc(func(context.Context, monitor.Alert) error { return fmt.Errorf("broken") })
	err := monitor.Alerters(&a, fail, &b).Alert(context.Background(), monitor.Alert{State: monitor.Up, IP: ip(1)})
	if err == nil || len(a.of(ip(1))) != 1 || len(b.of(ip(1))) != 1 {
		t.Errorf("Alerters: %v, %v, %v", err, a.of(ip(1)), b.of(ip(1)))
	}
}
