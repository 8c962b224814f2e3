package web_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/audit/sqlitestore"
	"github.com/pxelator/pxelator/internal/syncbuf"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/power"
	"github.com/pxelator/pxelator/web"
)

// The machines of the test segment.
var (
	kioskMAC = mustMAC("52:54:00:00:0a:01")
	wsMAC    = mustMAC("52:54:00:00:0a:02")
	newMAC   = mustMAC("52:54:00:00:0a:03")
	kioskIP  = netip.MustParseAddr("10.77.0.101")
	wsIP     = netip.MustParseAddr("10.77.0.102")
	serverIP = netip.MustParseAddr("10.77.0.1")
)

// Secrets the tests look for everywhere.
const (
	testToken  = "tok-7f3a9c0e5b2d41e8a6f0c3b9d7e1a5f2"
	bmcSecret  = "Bmc-S3cret-Tr0ub4dor&3"
	bmcSecret2 = "Other-S3cret-9f8e7d"
)

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// amtPower is the power backend of the tests: each machine's backend as
// package power picks it from its attributes (here the AMT emulator).
func amtPower(rec audit.Recorder) web.Power {
	cfg := power.Config{Recorder: rec, AMT: amt.Config{Timeout: 10 * time.Second}}
	return power.Switcher{Config: cfg}
}

// pings is a Monitor with fixed answers.
type pings map[string]web.Status

func (p pings) Status(m pxelator.Machine) (web.Status, bool) {
	s, ok := p[m.MAC.String()]
	return s, ok
}

// kiosks is a Schedule: on at 07:30, off at 20:30, for machines with
// attribute kiosk.on.
type kiosks struct{}

func (kiosks) Plan(m pxelator.Machine) (web.Plan, bool) {
	if m.Get("kiosk.on") == "" {
		return web.Plan{}, false
	}
	t := time.Now()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	on, off := day.Add(7*time.Hour+30*time.Minute), day.Add(20*time.Hour+30*time.Minute)
	if !on.After(t) {
		on = on.AddDate(0, 0, 1)
	}
	if !off.After(t) {
		off = off.AddDate(0, 0, 1)
	}
	return web.Plan{Schedule: "on 07:30 off 20:30", NextOn: on, NextOff: off}, true
}

// env is a web handler over a memory store, an SQLite audit store filled
// through a Batcher, and an emulated AMT device for the kiosk.
type env struct {
	t       *testing.T
	store   pxelator.Store
	audit   *sqlitestore.Store
	batcher *audit.Batcher
	bmc     *amttest.Server
	web     *audittest.Recorder // the handler's own events
	logs    *syncbuf.Buffer
	h       *web.Handler
	srv     *httptest.Server
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, store: memstore.New(), web: &audittest.Recorder{}, logs: &syncbuf.Buffer{}}
	var err error
	e.audit, err = sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	e.batcher = audit.NewBatcher(e.audit, nil)
	e.bmc = amttest.NewServer(amttest.Options{State: pxelator.PowerOff, Password: bmcSecret})
	t.Cleanup(func() {
		e.bmc.Close()
		e.batcher.Close(context.Background())
		e.audit.Close()
	})

	kiosk := pxelator.Machine{MAC: kioskMAC, IP: kioskIP, Server: serverIP, Hostname: "kiosk-01", Profile: "linux"}
	kiosk.Set(amt.AttrAddress, e.bmc.URL)
	kiosk.Set(amt.AttrUsername, e.bmc.Username())
	kiosk.SetSecret(amt.AttrPassword, bmcSecret)
	kiosk.Set("kiosk.on", "07:30")
	kiosk.Set("group", "lab")
	ws := pxelator.Machine{MAC: wsMAC, IP: wsIP, Server: serverIP, Hostname: "ws-02", Profile: "local"}
	ws.Set(pxelator.AttrNetboot, "false")
	ws.SetSecret("drac.password", bmcSecret2)
	fresh := pxelator.Machine{MAC: newMAC, IP: netip.MustParseAddr("10.77.0.103"), Server: serverIP}
	for _, m := range []pxelator.Machine{kiosk, ws, fresh} {
		if err := e.store.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	e.fill()

	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	power := amtPower(e.batcher)
	e.h = &web.Handler{
		Store: e.store, Audit: e.audit, Recorder: e.web, Power: power,
		Monitor: pings{
			kioskMAC.String(): {Up: true, Since: time.Now().Add(-2 * time.Hour), RTT: 420 * time.Microsecond, LastReply: time.Now()},
			wsMAC.String():    {Up: false, Since: time.Now().Add(-30 * time.Minute)},
			newMAC.String():   {Up: false, Expected: true, Since: time.Now().Add(-3 * time.Hour)},
		},
		Schedule: kiosks{},
		Profiles: func() []string { return []string{"linux", "local", "rescue"} },
		Token:    testToken,
		Logger:   log,
	}
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

// fill records, through the Batcher, what the servers record when the
// kiosk boots to its syslog and the workstation gets stuck after DHCP:
// the events as dhcpd, tftpd, boot, syslogd and the monitor's pings make
// them. The kiosk's BMC is read once through package amt, which records
// the reading itself.
func (e *env) fill() {
	ctx := context.Background()
	now := time.Now()
	t0 := now.Add(-time.Hour)
	rec := func(at time.Duration, ev audit.Event) {
		ev.Time = t0.Add(at)
		e.batcher.Record(ctx, ev)
	}
	dhcp := func(at time.Duration, mac net.HardwareAddr, ip netip.Addr, action string, f map[string]any) {
		rec(at, audit.Event{Package: "dhcpd", Action: action, IP: ip, MAC: mac, Ident: mac.String(), Fields: f})
	}
	for _, m := range []struct {
		mac net.HardwareAddr
		ip  netip.Addr
	}{{kioskMAC, kioskIP}, {wsMAC, wsIP}} {
		dhcp(0, m.mac, netip.Addr{}, "discover", map[string]any{"xid": "0x1", "arch": "Intel x86PC", "class": "PXEClient"})
		dhcp(10*time.Millisecond, m.mac, m.ip, "offer", map[string]any{"xid": "0x1", "file": "undionly.kpxe"})
		dhcp(2*time.Second, m.mac, netip.Addr{}, "request", map[string]any{"xid": "0x1"})
		dhcp(2*time.Second+5*time.Millisecond, m.mac, m.ip, "ack", map[string]any{"xid": "0x1", "file": "undionly.kpxe"})
	}
	tftp := func(at time.Duration, ip netip.Addr, file, outcome string) {
		rec(at, audit.Event{Package: "tftpd", Action: "read", IP: ip, Fields: map[string]any{"file": file, "outcome": outcome, "bytes": 70000}})
	}
	tftp(3*time.Second, kioskIP, "undionly.kpxe", "ok")
	dhcp(6*time.Second, kioskMAC, netip.Addr{}, "discover", map[string]any{"xid": "0x2", "ipxe": true})
	dhcp(6*time.Second+10*time.Millisecond, kioskMAC, kioskIP, "offer", map[string]any{"xid": "0x2", "file": "http://10.77.0.1/boot/boot.ipxe"})
	dhcp(7*time.Second, kioskMAC, kioskIP, "ack", map[string]any{"xid": "0x2", "file": "http://10.77.0.1/boot/boot.ipxe"})
	httpBoot := func(at time.Duration, file string, status int) {
		rec(at, audit.Event{Package: "boot", Action: "http", IP: kioskIP, MAC: kioskMAC, Hostname: "kiosk-01",
			Fields: map[string]any{"method": "GET", "file": file, "status": status, "bytes": 1000}})
	}
	httpBoot(8*time.Second, "boot.ipxe", 200)
	httpBoot(9*time.Second, "vmlinuz", 200)
	httpBoot(11*time.Second, "initrd.gz", 200)
	rec(20*time.Second, audit.Event{Package: "syslogd", Action: "log", IP: kioskIP, MAC: kioskMAC, Hostname: "kiosk-01",
		Fields: map[string]any{"app": "kernel", "msg": "Linux version 6.1.0-56-amd64"}})
	tftp(4*time.Second, wsIP, "undionly.kpxe", "failed")
	// A ping every 15 minutes for a day, slower at night.
	for i := range 96 {
		at := time.Duration(i)*15*time.Minute + 7*time.Second - 23*time.Hour
		rtt := []float64{0.31, 0.35, 0.42, 0.38, 0.33, 0.52, 0.36}[i%7]
		if h := now.Add(at).Hour(); h < 6 {
			rtt += 0.4
		}
		rec(at, audit.Event{Package: "ping", Action: "reply", IP: kioskIP, MAC: kioskMAC, Fields: map[string]any{"rtt": rtt}})
	}
	rec(45*time.Minute, audit.Event{Package: "dhcpd", Action: "new-machine", IP: netip.MustParseAddr("10.77.0.103"), MAC: newMAC, Ident: newMAC.String()})
	m, err := e.store.ByMAC(ctx, kioskMAC)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := amtPower(e.batcher).State(ctx, m); err != nil {
		e.t.Fatal(err)
	}
	e.flush()
}

func (e *env) flush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.batcher.Flush(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// machines returns the store's machines as text, to compare before and
// after a refused action.
func (e *env) machines() string {
	ms, err := e.store.List(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, m := range ms {
		b.WriteString(m.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// client returns an HTTP client with a cookie jar that does not follow
// redirects.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// login logs c in and returns the session's CSRF token.
func (e *env) login(c *http.Client) string {
	e.t.Helper()
	body := e.get(c, "/login", http.StatusOK)
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no CSRF field in the login page:\n%s", body)
	}
	resp, err := c.PostForm(e.srv.URL+"/login", url.Values{"csrf": {m[1]}, "token": {testToken}, "next": {"/"}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("login: %s", resp.Status)
	}
	page := e.get(c, "/machines/"+kioskMAC.String(), http.StatusOK)
	m = csrfInput.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatal("no CSRF field in the machine page after login")
	}
	return m[1]
}

// get fetches path and checks its status.
func (e *env) get(c *http.Client, path string, status int) string {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		e.t.Fatalf("GET %s: %s, want %d:\n%s", path, resp.Status, status, b)
	}
	return string(b)
}

// do sends a request and returns the status and body.
func (e *env) do(c *http.Client, method, path, contentType string, body io.Reader, hdr http.Header) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
