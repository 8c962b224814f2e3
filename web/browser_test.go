package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/web"
)

// chromium returns the path of Debian's chromium. It skips the test when
// there is none, except in CI, where .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is missing in CI: .ci/run installs it")
	}
	t.Skip("chromium is not installed (apt-get install chromium): skipping the browser test")
	return ""
}

// browser starts a headless chromium with a fresh profile and returns a
// chromedp context for one tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1360, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser without a deadline: it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// artifacts is where the browser test writes its screenshots:
// $PXELATOR_SCREENSHOTS when set (the README's come from there), else a
// temporary directory.
func artifacts(t *testing.T) string {
	if d := os.Getenv("PXELATOR_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// addLab puts more machines into the store, with DHCP events and pings, so
// that the overview looks like a segment.
func (e *env) addLab(n int) {
	ctx := context.Background()
	mon := e.h.Monitor.(pings)
	now := time.Now()
	for i := range n {
		mac := mustMAC(fmt.Sprintf("52:54:00:00:0b:%02x", i))
		ip := netip.AddrFrom4([4]byte{10, 77, 0, byte(110 + i)})
		m := pxelator.Machine{MAC: mac, IP: ip, Server: serverIP, Hostname: fmt.Sprintf("lab-%02d", i+1), Profile: []string{"linux", "local", "rescue"}[i%3]}
		if i%4 == 0 {
			m.Set("kiosk.on", "07:30")
		}
		if err := e.store.Put(ctx, m); err != nil {
			e.t.Fatal(err)
		}
		at := now.Add(-time.Duration(i*7+3) * time.Minute)
		for j, a := range []string{"discover", "offer", "request", "ack"} {
			if i%5 == 4 && j > 1 {
				break // stuck without an ack
			}
			e.batcher.Record(ctx, audit.Event{Time: at.Add(time.Duration(j) * 300 * time.Millisecond), Package: "dhcpd", Action: a,
				IP: ip, MAC: mac, Ident: mac.String(), Fields: map[string]any{"xid": "0x9"}})
		}
		if i%3 != 2 && i%5 != 4 {
			e.batcher.Record(ctx, audit.Event{Time: at.Add(2 * time.Second), Package: "tftpd", Action: "read", IP: ip,
				Fields: map[string]any{"file": "undionly.kpxe", "outcome": "ok"}})
		}
		mon[mac.String()] = web.Status{Up: i%5 != 4, Since: at, RTT: time.Duration(300+i*45) * time.Microsecond, LastReply: now}
	}
	e.flush()
}

// TestBrowser drives chromium through the pages with JavaScript off: the
// overview lists the machines, a machine page shows its events and
// plots, a power button is refused without the login and leaves the BMC
// alone, powers it on with the login, and the profile form changes the
// store and the boot file served under /boot/.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	e := newEnv(t)
	e.addLab(10)
	// The reference server's layout: /boot/ beside the web handler.
	files := &boot.Files{Root: t.TempDir(), Store: e.store}
	mux := http.NewServeMux()
	mux.Handle("/boot/", http.StripPrefix("/boot", &boot.HTTPHandler{Files: files}))
	mux.Handle("/", e.h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	shots := artifacts(t)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		p := filepath.Join(shots, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s (%d KiB)", p, len(png)>>10)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("switching JavaScript off: %v", err)
	}

	do("overview", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.machines")))
	body := text("table.machines")
	for _, w := range []string{"kiosk-01", "ws-02", "52:54:00:00:0a:03", "lab-10", "booted", "DHCP offer"} {
		if !strings.Contains(body, w) {
			t.Errorf("overview: no %q in\n%s", w, body)
		}
	}
	if counts := text("section.counts"); !strings.Contains(counts, "13 machines") || !strings.Contains(counts, "1 new today") {
		t.Errorf("counts: %q", counts)
	}
	shot("web-overview.png")

	do("machine page", chromedp.Click(chromedp.CSS(`a[href="/machines/`+kioskMAC.String()+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("svg.plot")))
	if ev := text("#events table"); !strings.Contains(ev, "syslogd") || !strings.Contains(ev, "Linux version") {
		t.Errorf("events of the machine page:\n%s", ev)
	}
	if n, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("svg.plot polyline.rtt"))); err != nil || len(n) != 1 {
		t.Errorf("rtt plot: %d lines, %v", len(n), err)
	}
	if steps := text("ol.steps"); !strings.Contains(steps, "kernel") || !strings.Contains(steps, "vmlinuz (HTTP)") {
		t.Errorf("boot steps:\n%s", steps)
	}
	shot("web-machine.png")

	// Without the login: refused, the BMC untouched.
	requests := e.bmc.Requests()
	do("power on without login", chromedp.Click(chromedp.CSS("#power-on")), chromedp.WaitVisible(chromedp.CSS("p.error")))
	if msg := text("main"); !strings.Contains(msg, "401") || !strings.Contains(msg, "Log in") {
		t.Errorf("power without login: %q", msg)
	}
	if e.bmc.Requests() != requests || e.bmc.State() != pxelator.PowerOff {
		t.Fatalf("power without login reached the BMC: %d requests, state %s", e.bmc.Requests()-requests, e.bmc.State())
	}
	shot("web-refused.png")

	// With the login.
	do("login", chromedp.Navigate(srv.URL+"/login?next=/machines/"+kioskMAC.String()),
		chromedp.SendKeys(chromedp.CSS("#token"), testToken), chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#power-on")))
	do("power on", chromedp.Click(chromedp.CSS("#power-on")), chromedp.WaitVisible(chromedp.CSS("p.done")))
	if msg := text("p.done"); !strings.Contains(msg, "on sent") {
		t.Errorf("after power on: %q", msg)
	}
	if e.bmc.State() != pxelator.PowerOn {
		t.Errorf("after the power button: BMC %s, want on", e.bmc.State())
	}

	// The profile form: the store and the boot file change.
	bootFile := srv.URL + "/boot/pxelinux.cfg/01-" + strings.ReplaceAll(kioskMAC.String(), ":", "-")
	if got := fetch(t, bootFile); !strings.Contains(got, "KERNEL vmlinuz") {
		t.Fatalf("boot file before: %q", got)
	}
	do("profile", chromedp.Navigate(srv.URL+"/machines/"+kioskMAC.String()), chromedp.WaitVisible(chromedp.CSS("#profile")),
		chromedp.SetValue(chromedp.CSS("#profile"), "local"), chromedp.Click(chromedp.CSS("#profile-save")),
		chromedp.WaitVisible(chromedp.CSS("p.done")))
	m, err := e.store.ByMAC(context.Background(), kioskMAC)
	if err != nil || m.Profile != "local" {
		t.Errorf("store after the profile form: %v, %v", m, err)
	}
	if got := fetch(t, bootFile); !strings.Contains(got, "LOCALBOOT 0") {
		t.Errorf("boot file after the profile form: %q", got)
	}
	// Logged out again, the forms are refused.
	do("logout", chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.CSS("table.machines")))
	if who := text(".who"); !strings.Contains(who, "Log in") {
		t.Errorf("after logout: %q", who)
	}
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

// TestBrowserLiveRefresh: with JavaScript on, the overview fetches itself
// again every 10 s and shows a machine that came meanwhile, without a
// reload.
func TestBrowserLiveRefresh(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the 10 s refresh")
	}
	ctx := browser(t)
	e := newEnv(t)
	tctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("table.machines"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`window.__marker = true`)); err != nil {
		t.Fatal(err)
	}
	late := pxelator.Machine{MAC: mustMAC("52:54:00:00:0e:01"), IP: netip.MustParseAddr("10.77.0.200"), Hostname: "late-01"}
	if err := e.store.Put(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tctx, chromedp.WaitVisible(chromedp.CSS(`a[href="/machines/52:54:00:00:0e:01"]`))); err != nil {
		t.Fatalf("the new machine did not appear: %v", err)
	}
	same, err := chromedp.Run(tctx, chromedp.Evaluate[bool](`window.__marker === true`))
	if err != nil || !same {
		t.Errorf("the page was reloaded instead of refreshed: %v %v", same, err)
	}
}
