package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt/amttest"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/sqlitestore"
	"github.com/pxelator/pxelator/monitor"
)

// writeMachine writes a machine's files under conf/<server>/<ip>/, the
// way a person does with echo; keys ending in "password" get mode 0600,
// which makes them secret.
func writeMachine(t *testing.T, conf, server, ip string, kv ...string) {
	t.Helper()
	dir := filepath.Join(conf, server, ip)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(kv[i], "password") {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, kv[i]), []byte(kv[i+1]+"\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// TestScheduleAndPing runs the reference server with a kiosk whose
// kiosk.on is the next minute and whose AMT device is an emulator on
// loopback, and another machine without a schedule. The scheduler's clock
// starts two seconds before that minute (no real minute is waited for):
// the kiosk is switched on in that minute, the audit store shows it, and
// the ping events of both machines answer auditq -package ping avg rtt
// -by ip, in-process and through the auditq command.
func TestScheduleAndPing(t *testing.T) {
	if c, err := monitor.Listen(""); err != nil {
		t.Skipf("no ICMP socket (root, CAP_NET_RAW or net.ipv4.ping_group_range): %v", err)
	} else {
		c.Close()
	}
	bmc := amttest.NewServer(amttest.Options{State: pxelator.PowerOff})
	defer bmc.Close()

	// The scheduler's clock runs at the real pace, from two seconds
	// before the next minute.
	start := time.Now()
	planned := start.Truncate(time.Minute).Add(time.Minute)
	offset := planned.Add(-2 * time.Second).Sub(start)
	now := func() time.Time { return time.Now().Add(offset) }

	dir := t.TempDir()
	conf, state := filepath.Join(dir, "conf"), filepath.Join(dir, "state")
	writeMachine(t, conf, "127.0.0.1", "127.0.0.5", "mac", "52:54:00:00:0a:05", "hostname", "kiosk-05",
		"kiosk.on", planned.Format("15:04"), "amt.address", bmc.URL, "amt.username", bmc.Username(), "amt.password", bmc.Password())
	writeMachine(t, conf, "127.0.0.1", "127.0.0.6", "mac", "52:54:00:00:0a:06", "hostname", "desk-06")

	listening, out, stop := startServerWith(t, func(set *settings) {
		set.schedule.now, set.schedule.tick = now, 50*time.Millisecond
	}, "-conf", conf, "-state", state, "-server-ip", "127.0.0.1",
		"-dhcp", "off", "-tftp", "off", "-http", "off", "-dns", "off", "-syslog", "off",
		"-ping", "100ms")
	if listening["ping"] == "" {
		t.Fatalf("no ping socket in %v", listening)
	}
	for _, want := range []string{"kiosk schedules", "ping every machine every 100ms, down after 3 misses"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up lines lack %q:\n%s", want, out.String())
		}
	}
	for deadline := time.Now().Add(60 * time.Second); bmc.State() != pxelator.PowerOn; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the kiosk is %v a minute after its kiosk.on", bmc.State())
		}
	}
	switchedAt := now()
	time.Sleep(300 * time.Millisecond) // three more rounds of pings
	stop()                             // the audit is flushed and closed

	if switchedAt.Before(planned) || !switchedAt.Before(planned.Add(time.Minute)) {
		t.Errorf("switched on at %v, want in the minute from %v", switchedAt, planned)
	}
	ctx := context.Background()
	db, err := sqlitestore.Open(ctx, filepath.Join(state, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	page, err := db.Events(ctx, audit.EventsQuery{Filter: audit.Filter{Package: "schedule", Machine: "kiosk-05"}})
	if err != nil {
		t.Fatal(err)
	}
	var decisions []audit.Entry
	for _, d := range page.Documents {
		decisions = append(decisions, d.Entries...)
	}
	if len(decisions) != 1 || decisions[0].Action != "on" || decisions[0].Fields["outcome"] != "switched" ||
		decisions[0].Fields["planned"] != planned.Format(time.RFC3339) || decisions[0].Fields["state"] != "off" {
		t.Fatalf("schedule events of the kiosk: %+v, want one on, switched, planned %s", decisions, planned.Format(time.RFC3339))
	}
	if at := decisions[0].Time; at.Before(planned) || !at.Before(planned.Add(time.Minute)) {
		t.Errorf("the decision is recorded at %v, want in the minute from %v", at, planned)
	}
	amtPage, err := db.Events(ctx, audit.EventsQuery{Filter: audit.Filter{Package: "amt", Machine: "52:54:00:00:0a:05"}})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, d := range amtPage.Documents {
		for _, e := range d.Entries {
			actions = append(actions, e.Action)
		}
	}
	if !strings.Contains(strings.Join(actions, " "), "power_on") {
		t.Errorf("amt events of the kiosk: %v, want power_on", actions)
	}

	// auditq -package ping avg rtt -by ip, through the query API.
	groups, err := db.Stats(ctx, audit.StatsQuery{Filter: audit.Filter{Package: "ping"}, Field: "rtt", By: []string{"ip"}})
	if err != nil {
		t.Fatal(err)
	}
	avg := map[string]audit.Group{}
	for _, g := range groups {
		avg[g.Key[0]] = g
	}
	for _, ip := range []string{"127.0.0.5", "127.0.0.6"} {
		if g := avg[ip]; g.Count < 3 || g.Avg() <= 0 || g.Avg() > 1000 {
			t.Errorf("average rtt of %s: %+v, want several pings of a few ms at most", ip, g)
		}
	}
	db.Close()

	// And through the command a user types.
	if testing.Short() {
		return
	}
	auditq := filepath.Join(t.TempDir(), "auditq")
	build := exec.Command("go", "build", "-o", auditq, "../auditq")
	build.Dir = pkgDir
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build auditq: %v\n%s", err, b)
	}
	b, err := exec.Command(auditq, "-audit", "sqlite:"+filepath.Join(state, "audit.db"), "-package", "ping", "avg", "rtt", "-by", "ip").CombinedOutput()
	if err != nil {
		t.Fatalf("auditq: %v\n%s", err, b)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "IP") || !strings.HasPrefix(lines[1], "127.0.0.5 ") || !strings.HasPrefix(lines[2], "127.0.0.6 ") {
		t.Errorf("auditq -package ping avg rtt -by ip:\n%s", b)
	}
	t.Logf("auditq -package ping avg rtt -by ip:\n%s", b)
}

func TestScheduleAndPingFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // part of the error; "" for none
		ok   func(*settings) bool
	}{
		{args: nil, ok: func(s *settings) bool {
			return s.schedule.on() && s.schedule.catchUp == 30*time.Minute && s.monitor.interval.d == 10*time.Second && s.monitor.down == 3 && s.monitor.alerter == nil && !s.power.poll.on()
		}},
		{args: []string{"-schedule", "off", "-ping", "off"}, ok: func(s *settings) bool { return !s.schedule.on() && !s.monitor.interval.on() }},
		{args: []string{"-ping", "2s", "-ping-down", "5", "-alert-cmd", "true", "-alert-url", "http://127.0.0.1:9/hook", "-power-poll", "1m"}, ok: func(s *settings) bool {
			return s.monitor.interval.d == 2*time.Second && s.monitor.down == 5 && s.monitor.alerter != nil && s.power.poll.d == time.Minute
		}},
		{args: []string{"-schedule", "maybe"}, want: "want on or off"},
		{args: []string{"-ping", "-1s"}, want: "positive duration"},
		{args: []string{"-ping-down", "0"}, want: "-ping-down"},
		{args: []string{"-alert-url", "ftp://x"}, want: "-alert-url"},
		{args: []string{"-schedule-catchup", "-1m"}, want: "-schedule-catchup"},
		{args: []string{"-power-poll", "soon"}, want: "positive duration"},
	} {
		set, err := parseFlags(append([]string{"-server-ip", "127.0.0.1"}, tc.args...), io.Discard)
		switch {
		case tc.want != "":
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%q: %v, want an error about %q", tc.args, err, tc.want)
			}
		case err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case !tc.ok(set):
			t.Errorf("%q: settings %+v %+v", tc.args, set.schedule, set.monitor)
		}
	}
}
