package schedule_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/power/powertest"
	"github.com/pxelator/pxelator/schedule"
)

// clock is a fake clock that tests set and advance.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// rig is a scheduler over a MemStore of fake machines, with a fake clock
// and a state file.
type rig struct {
	t     *testing.T
	loc   *time.Location
	clock *clock
	store *memstore.Store
	fleet *powertest.Fleet
	rec   *audittest.Recorder
	opts  schedule.Options
	s     *schedule.Scheduler
}

// newRig returns a rig in loc whose clock is at 00:00 of date (local).
// opts, if not nil, is applied to the options before the start.
func newRig(t *testing.T, loc *time.Location, date string, opts func(*schedule.Options)) *rig {
	t.Helper()
	r := &rig{t: t, loc: loc, clock: &clock{}, store: memstore.New(), fleet: &powertest.Fleet{}, rec: &audittest.Recorder{}}
	r.at(date + " 00:00")
	r.opts = schedule.Options{
		Power:    func(m pxelator.Machine) (schedule.Power, error) { return r.fleet.For(m) },
		Now:      r.clock.Now,
		Location: loc,
		State:    filepath.Join(t.TempDir(), "schedule.jsonl"),
		Recorder: r.rec,
		Logger:   discardLogger(),
	}
	if opts != nil {
		opts(&r.opts)
	}
	r.start()
	t.Cleanup(func() { r.s.Close() })
	return r
}

func (r *rig) start() {
	r.t.Helper()
	s, err := schedule.New(r.store, &r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.s = s
}

// restart closes the scheduler and starts a new one on the same state,
// as a restarted server does.
func (r *rig) restart() {
	r.t.Helper()
	if err := r.s.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.start()
}

func mac(i int) net.HardwareAddr { return net.HardwareAddr{0x52, 0x54, 0, 0, 0, byte(i)} }

// machine puts machine i (10.0.0.i) with the attributes kv into the store
// and returns its fake power backend, in state st.
func (r *rig) machine(i int, fake *powertest.Machine, kv ...string) *powertest.Machine {
	r.t.Helper()
	r.fleet.Add(mac(i), fake)
	r.put(i, kv...)
	return fake
}

// put puts machine i with the attributes kv, replacing its others.
func (r *rig) put(i int, kv ...string) {
	r.t.Helper()
	m := pxelator.Machine{MAC: mac(i), IP: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Hostname: fmt.Sprintf("kiosk-%02d", i)}
	for j := 0; j+1 < len(kv); j += 2 {
		m.Set(kv[j], kv[j+1])
	}
	if err := r.store.Put(context.Background(), m); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) time(s string) time.Time {
	r.t.Helper()
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, r.loc); err == nil {
			return t
		}
	}
	r.t.Fatalf("bad time %q", s)
	return time.Time{}
}

// at sets the clock to the local time s ("2006-01-02 15:04[:05]").
func (r *rig) at(s string) { r.clock.Set(r.time(s)) }

func (r *rig) check() {
	r.t.Helper()
	if err := r.s.Check(context.Background()); err != nil {
		r.t.Fatalf("Check: %v", err)
	}
}

// checkAt sets the clock and makes a pass.
func (r *rig) checkAt(s string) {
	r.t.Helper()
	r.at(s)
	r.check()
}

// walk makes a pass every step from the clock's time up to and including
// until, calling each (if not nil) after every pass.
func (r *rig) walk(until time.Time, step time.Duration, each func(now time.Time)) {
	r.t.Helper()
	for now := r.clock.Now(); !now.After(until); now = now.Add(step) {
		r.clock.Set(now)
		r.check()
		if each != nil {
			each(now)
		}
	}
}

// outcomes returns the outcomes of the audit events of action ("on" or
// "off") for machine i.
func (r *rig) outcomes(i int, action schedule.Action) []string {
	var out []string
	for _, e := range r.rec.Find("schedule", string(action)) {
		if e.MAC.String() == mac(i).String() {
			out = append(out, e.Fields["outcome"].(string))
		}
	}
	return out
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

var zagreb = func() *time.Location {
	l, err := time.LoadLocation("Europe/Zagreb")
	if err != nil {
		panic(err)
	}
	return l
}()

func TestOnAndOffAtThePlannedMinute(t *testing.T) {
	r := newRig(t, zagreb, "2026-11-27", nil)
	fake := r.machine(1, powertest.New(pxelator.PowerOff), schedule.AttrOn, "07:30", schedule.AttrOff, "20:30")
	var changed []time.Time
	last := fake.State()
	r.walk(r.time("2026-11-27 23:59:50"), 10*time.Second, func(now time.Time) {
		if st := fake.State(); st != last {
			changed, last = append(changed, now), st
		}
	})
	equal(t, "actions", fake.Actions(), []string{"on", "off"})
	if len(changed) != 2 {
		t.Fatalf("state changed at %v, want twice", changed)
	}
	for i, want := range []string{"2026-11-27 07:30", "2026-11-27 20:30"} {
		if got := changed[i].In(zagreb).Format("2006-01-02 15:04"); got != want {
			t.Errorf("change %d in minute %s, want %s", i, got, want)
		}
	}
	equal(t, "on outcomes", r.outcomes(1, schedule.On), []string{"switched"})
	equal(t, "off outcomes", r.outcomes(1, schedule.Off), []string{"switched"})
	ev := r.rec.Find("schedule", "on")[0]
	if ev.Fields["planned"] != "2026-11-27T07:30:00+01:00" || ev.Fields["state"] != "off" || ev.Fields["attempt"] != 1 ||
		ev.IP != netip.MustParseAddr("10.0.0.1") || ev.Hostname != "kiosk-01" {
		t.Errorf("on event %+v", ev)
	}
	if late := ev.Fields["late"].(float64); late < 0 || late >= 60 {
		t.Errorf("on event late by %vs, want within the minute", late)
	}
}

func TestAlreadyThereDoesNothing(t *testing.T) {
	r := newRig(t, zagreb, "2026-11-27", nil)
	on := r.machine(1, powertest.New(pxelator.PowerOn), schedule.AttrOn, "07:30")
	off := r.machine(2, powertest.New(pxelator.PowerOff), schedule.AttrOff, "20:30")
	r.walk(r.time("2026-11-27 23:59"), time.Minute, nil)
	equal(t, "actions of the machine already on", on.Actions(), nil)
	equal(t, "actions of the machine already off", off.Actions(), nil)
	if on.Reads() == 0 || off.Reads() == 0 {
		t.Errorf("states read %d and %d times, want them read", on.Reads(), off.Reads())
	}
	equal(t, "on outcomes", r.outcomes(1, schedule.On), []string{"already"})
	equal(t, "off outcomes", r.outcomes(2, schedule.Off), []string{"already"})
}

func TestWakeOnLAN(t *testing.T) {
	r := newRig(t, zagreb, "2026-11-27", nil)
	fake := r.machine(1, powertest.NewWoL(pxelator.PowerOff), schedule.AttrOn, "07:30", schedule.AttrOff, "20:30")
	r.walk(r.time("2026-11-27 23:59"), time.Minute, nil)
	// It cannot tell its state, so the scheduler wakes it; it cannot be
	// switched off, which is recorded once and not retried.
	equal(t, "actions", fake.Actions(), []string{"on", "off"})
	equal(t, "on outcomes", r.outcomes(1, schedule.On), []string{"switched"})
	equal(t, "off outcomes", r.outcomes(1, schedule.Off), []string{"unsupported"})
	if fake.State() != pxelator.PowerOn {
		t.Errorf("state %v, want on", fake.State())
	}
}

func TestCatchUpAfterRestart(t *testing.T) {
	for _, tc := range []struct {
		name    string
		catchUp time.Duration
		restart string
		want    []string
	}{
		{"inside the window", 0, "07:45", []string{"on"}},
		{"at the edge of the window", 0, "07:59:59", []string{"on"}},
		{"outside the window", 0, "08:00:01", nil},
		{"a longer window", time.Hour, "08:10", []string{"on"}},
		{"no window", -1, "07:31", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, zagreb, "2026-11-27", func(o *schedule.Options) { o.CatchUp = tc.catchUp })
			fake := r.machine(1, powertest.New(pxelator.PowerOff), schedule.AttrOn, "07:30", schedule.AttrOff, "20:30")
			r.walk(r.time("2026-11-27 07:29"), time.Minute, nil) // up until 07:29, then down
			r.restart()
			r.checkAt("2026-11-27 " + tc.restart)
			equal(t, "actions", fake.Actions(), tc.want)
			r.walk(r.time("2026-11-27 09:00"), time.Minute, nil)
			equal(t, "actions an hour later", fake.Actions(), tc.want)
		})
	}
}

func TestNoDoubleActionAcrossRestart(t *testing.T) {
	for _, tc := range []struct {
		name     string
		memory   bool // no state file
		tornLine bool // a crash cut the last line of the state file
		want     []string
	}{
		{name: "state file", want: []string{"on"}},
		{name: "state file with a torn line", tornLine: true, want: []string{"on"}},
		// Without its state a restarted scheduler cannot know: this is
		// what the state file prevents.
		{name: "no state file", memory: true, want: []string{"on", "on"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, zagreb, "2026-11-27", func(o *schedule.Options) {
				if tc.memory {
					o.State = ""
				}
			})
			fake := r.machine(1, powertest.New(pxelator.PowerOff), schedule.AttrOn, "07:30")
			r.checkAt("2026-11-27 07:30:05")
			equal(t, "actions", fake.Actions(), []string{"on"})
			// Someone switches it off again by hand; the server restarts.
			fake.SetState(pxelator.PowerOff)
			if tc.tornLine {
				f, err := os.OpenFile(r.opts.State, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteString(`{"mac":"52:54:00:00:00:09","act`)
				f.Close()
			}
			r.restart()
			r.walk(r.time("2026-11-27 08:30"), time.Minute, nil)
			equal(t, "actions after the restart", fake.Actions(), tc.want)
			r.restart() // and once more: the compacted file holds it too
			r.walk(r.time("2026-11-27 08:59"), time.Minute, nil)
			equal(t, "actions after a second restart", fake.Actions(), tc.want)
		})
	}
}

func TestClockJumps(t *testing.T) {
	type step struct {
		at    string // set the clock here and make a pass
		until string // then walk minute by minute up to here ("" for no walk)
		off   bool   // switch the machine off by hand first
	}
	for _, tc := range []struct {
		name  string
		steps []step
		want  []string
	}{
		{"forward over the on-time", []step{{at: "07:20"}, {at: "09:20"}}, []string{"on"}},
		{"forward far beyond the window", []step{{at: "07:20"}, {at: "12:00"}}, []string{"on"}},
		{"forward over on and off: the latest counts", []step{{at: "07:20"}, {at: "21:00"}}, nil},
		{"back after the on-time", []step{{at: "07:29"}, {at: "07:30:10"}, {at: "07:25", until: "08:00", off: true}}, []string{"on"}},
		{"back an hour after the on-time", []step{{at: "07:30:10"}, {at: "06:31", until: "08:00", off: true}}, []string{"on"}},
		{"back over the on-time before it", []step{{at: "07:29"}, {at: "06:00", until: "08:00"}}, []string{"on"}},
		// Forward over 20:30 switches it off; back, 07:30 is not repeated.
		{"forward to the next day and back", []step{{at: "07:31"}, {at: "2026-11-28 01:00"}, {at: "07:28", until: "08:00"}}, []string{"on", "off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, zagreb, "2026-11-27", nil)
			fake := r.machine(1, powertest.New(pxelator.PowerOff), schedule.AttrOn, "07:30", schedule.AttrOff, "20:30")
			for _, s := range tc.steps {
				if s.off {
					fake.SetState(pxelator.PowerOff)
				}
				at := s.at
				if len(at) == 5 || len(at) == 8 {
					at = "2026-11-27 " + at
				}
				r.checkAt(at)
				if s.until != "" {
					r.walk(r.time("2026-11-27 "+s.until), time.Minute, nil)
				}
			}
			equal(t, "actions", fake.Actions(), tc.want)
		})
	}
}

func TestDSTDays(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	for _, tc := range []struct {
		name      string
		date      string
		on, off   string
		wantOnUTC string
	}{
		// The hour from 02:00 to 03:00 does not exist: 02:30 is 03:30 CEST.
		{"spring forward, on in the gap", "2026-03-29", "02:30", "22:00", "2026-03-29T01:30:00Z"},
		{"spring forward, on after it", "2026-03-29", "07:30", "20:30", "2026-03-29T05:30:00Z"},
		// 02:30 happens twice: once, at the first.
		{"fall back, on in the repeated hour", "2026-10-25", "02:30", "22:00", "2026-10-25T00:30:00Z"},
		{"fall back, on after it", "2026-10-25", "07:30", "20:30", "2026-10-25T06:30:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, berlin, tc.date, nil)
			fake := r.machine(1, powertest.New(pxelator.PowerOff), schedule.AttrOn, tc.on, schedule.AttrOff, tc.off)
			var onAt []time.Time
			last := fake.State()
			// The fake clock, like a real one, moves in instants; the
			// local wall clock skips or repeats an hour.
			end := r.time(tc.date + " 23:59")
			r.walk(end, 10*time.Second, func(now time.Time) {
				if st := fake.State(); st != last {
					if st == pxelator.PowerOn {
						onAt = append(onAt, now)
					}
					last = st
				}
			})
			equal(t, "actions", fake.Actions(), []string{"on", "off"})
			if len(onAt) != 1 || onAt[0].UTC().Truncate(time.Minute).Format(time.RFC3339) != tc.wantOnUTC {
				t.Errorf("switched on at %v, want once in the minute %s", onAt, tc.wantOnUTC)
			}
		})
	}
}

func TestGroupSchedules(t *testing.T) {
	r := newRig(t, zagreb, "2026-11-27", nil)
	off := pxelator.PowerOff
	holder := r.machine(10, powertest.New(off), schedule.AttrGroupSchedule, "hall", schedule.AttrGroup, "hall",
		schedule.AttrOn, "07:30", schedule.AttrOff, "20:30", schedule.AttrDays, "mon-fri")
	m11 := r.machine(11, powertest.New(off), schedule.AttrGroup, "hall")
	m12 := r.machine(12, powertest.New(off), schedule.AttrGroup, "hall")
	own := r.machine(13, powertest.New(off), schedule.AttrGroup, "hall", schedule.AttrOn, "08:00")
	other := r.machine(14, powertest.New(off), schedule.AttrGroup, "lab")
	// A second holder of the hall's schedule is reported and ignored for
	// the group; its own times still apply to itself.
	second := r.machine(15, powertest.New(off), schedule.AttrGroupSchedule, "hall", schedule.AttrOn, "07:40")
	r.walk(r.time("2026-11-27 08:30"), time.Minute, nil)
	for name, tc := range map[string]struct {
		fake *powertest.Machine
		want []string
	}{
		"holder": {holder, []string{"on"}}, "member 11": {m11, []string{"on"}}, "member 12": {m12, []string{"on"}},
		"member with its own time": {own, []string{"on"}}, "other group": {other, nil}, "second holder": {second, []string{"on"}},
	} {
		equal(t, name+": actions", tc.fake.Actions(), tc.want)
	}
	for _, e := range r.rec.Find("schedule", "on") {
		switch e.MAC.String() {
		case mac(11).String(), mac(12).String(), mac(10).String():
			if e.Fields["group"] != "hall" && e.MAC.String() != mac(10).String() {
				t.Errorf("event of %v without its group: %v", e.MAC, e.Fields)
			}
			if e.Fields["planned"] != "2026-11-27T07:30:00+01:00" {
				t.Errorf("event of %v planned %v, want 07:30", e.MAC, e.Fields["planned"])
			}
		case mac(13).String():
			if e.Fields["planned"] != "2026-11-27T08:00:00+01:00" || e.Fields["group"] != nil {
				t.Errorf("own schedule event %v", e.Fields)
			}
		}
	}
	if inv := r.rec.Find("schedule", "invalid"); len(inv) != 1 || inv[0].MAC.String() != mac(15).String() {
		t.Errorf("%d invalid events, want one for the second holder", len(inv))
	}
	p, ok := r.s.Plan(mac(11))
	if !ok || p.Schedule.Group != "hall" || p.LastOutcome != schedule.OutcomeSwitched ||
		!p.NextOff.Equal(r.time("2026-11-27 20:30")) || !p.NextOn.Equal(r.time("2026-11-30 07:30")) {
		t.Errorf("Plan of a member = %+v, %v", p, ok)
	}
	// The group's schedule moves with its holder's attributes.
	r.put(10, schedule.AttrGroupSchedule, "hall", schedule.AttrGroup, "hall", schedule.AttrOn, "07:30", schedule.AttrOff, "08:45", schedule.AttrDays, "mon-fri")
	r.walk(r.time("2026-11-27 09:00"), time.Minute, nil)
	equal(t, "member 11 after the group's edit", m11.Actions(), []string{"on", "off"})
	equal(t, "member with its own time after the group's edit", own.Actions(), []string{"on"})
}

func TestEditsPickedUpLive(t *testing.T) {
	r := newRig(t, zagreb, "2026-11-27", func(o *schedule.Options) { o.Tick = 2 * time.Millisecond })
	fake := r.machine(1, powertest.New(pxelator.PowerOff), schedule.AttrOn, "08:00")
	member := r.machine(2, powertest.New(pxelator.PowerOff), schedule.AttrGroup, "hall")
	r.at("2026-11-27 07:30")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("waited 30 s for %s", what)
			}
		}
	}
	// Let Run make passes with the first schedule.
	passes := func() int { return fake.Reads() }
	r.at("2026-11-27 07:31")
	time.Sleep(20 * time.Millisecond)
	if passes() != 0 || len(fake.Actions()) != 0 {
		t.Fatalf("acted before the edit: %v", fake.Actions())
	}
	// Edit by hand: on at 07:31.
	r.put(1, schedule.AttrOn, "07:31", schedule.AttrOff, "07:33")
	waitFor("the on-time edited in", func() bool { return fake.State() == pxelator.PowerOn })
	r.at("2026-11-27 07:33")
	waitFor("the off-time edited in", func() bool { return fake.State() == pxelator.PowerOff })
	// A machine joins a group whose schedule is made later.
	r.put(3, schedule.AttrGroupSchedule, "hall", schedule.AttrOn, "07:34")
	r.fleet.Add(mac(3), powertest.New(pxelator.PowerOn))
	r.at("2026-11-27 07:34")
	waitFor("the group's schedule", func() bool { return member.State() == pxelator.PowerOn })
	equal(t, "actions", fake.Actions(), []string{"on", "off"})
	equal(t, "member actions", member.Actions(), []string{"on"})
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
		want     []string // outcomes
		state    pxelator.PowerState
	}{
		{"two failures", 2, []string{"retry", "retry", "switched"}, pxelator.PowerOn},
		{"gives up", 100, []string{"retry", "retry", "retry", "retry", "failed"}, pxelator.PowerOff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, zagreb, "2026-11-27", nil)
			fake := r.machine(1, powertest.New(pxelator.PowerOff), schedule.AttrOn, "07:30")
			fake.Fail(tc.failures, nil)
			var tries []time.Time
			r.at("2026-11-27 07:29")
			r.walk(r.time("2026-11-27 09:00"), time.Second, func(now time.Time) {
				if n := len(fake.Actions()); n > len(tries) {
					tries = append(tries, now)
				}
			})
			equal(t, "outcomes", r.outcomes(1, schedule.On), tc.want)
			if fake.State() != tc.state {
				t.Errorf("state %v, want %v", fake.State(), tc.state)
			}
			// Backoff: 10 s, 20 s, 40 s, 80 s.
			for i := 1; i < len(tries); i++ {
				if gap, want := tries[i].Sub(tries[i-1]), 10*time.Second<<(i-1); gap != want {
					t.Errorf("attempt %d came %v after the one before, want %v", i+1, gap, want)
				}
			}
			if tc.failures > 5 && r.s.ExpectedDown(r.machineOf(1), r.time("2026-11-27 07:35")) {
				t.Error("a machine whose on-time failed is expected down")
			}
		})
	}
}

func (r *rig) machineOf(i int) pxelator.Machine {
	r.t.Helper()
	m, err := r.store.ByMAC(context.Background(), mac(i))
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

func TestExpectedDown(t *testing.T) {
	r := newRig(t, zagreb, "2026-11-27", nil)
	r.machine(1, powertest.New(pxelator.PowerOff), schedule.AttrOn, "07:30", schedule.AttrOff, "20:30", schedule.AttrDays, "mon-fri")
	r.machine(2, powertest.New(pxelator.PowerOn))
	r.check()
	for _, tc := range []struct {
		i    int
		at   string
		want bool
	}{
		{1, "2026-11-27 06:00", true},  // after Thursday's off
		{1, "2026-11-27 07:35", true},  // booting
		{1, "2026-11-27 07:41", false}, // should be up
		{1, "2026-11-27 21:00", true},
		{1, "2026-11-29 12:00", true}, // Sunday
		{2, "2026-11-27 21:00", false},
	} {
		if got := r.s.ExpectedDown(r.machineOf(tc.i), r.time(tc.at)); got != tc.want {
			t.Errorf("machine %d at %s: ExpectedDown = %v, want %v", tc.i, tc.at, got, tc.want)
		}
	}
}

func TestInvalidReportedOnce(t *testing.T) {
	r := newRig(t, zagreb, "2026-11-27", nil)
	fake := r.machine(1, powertest.New(pxelator.PowerOff), schedule.AttrOn, "7.30")
	r.walk(r.time("2026-11-27 00:05"), time.Minute, nil)
	if n := len(r.rec.Find("schedule", "invalid")); n != 1 {
		t.Errorf("%d invalid events, want 1", n)
	}
	if p, ok := r.s.Plan(mac(1)); !ok || p.Err == nil {
		t.Errorf("Plan = %+v, %v; want the error", p, ok)
	}
	r.put(1, schedule.AttrOn, "07:30", schedule.AttrTZ, "Nowhere/Land")
	r.walk(r.time("2026-11-27 00:10"), time.Minute, nil)
	r.put(1, schedule.AttrOn, "07:30")
	r.walk(r.time("2026-11-27 07:31"), time.Minute, nil)
	if n := len(r.rec.Find("schedule", "invalid")); n != 2 {
		t.Errorf("%d invalid events, want 2", n)
	}
	equal(t, "actions", fake.Actions(), []string{"on"})
	if _, ok := r.s.Plan(mac(9)); ok {
		t.Error("Plan of an unknown machine")
	}
}

// slowPower counts how many machines are being switched at once.
type slowPower struct {
	*powertest.Machine
	now, most *atomic.Int32
}

func (p slowPower) On(ctx context.Context) error {
	n := p.now.Add(1)
	defer p.now.Add(-1)
	for {
		m := p.most.Load()
		if n <= m || p.most.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(time.Millisecond)
	return p.Machine.On(ctx)
}

func TestParallelBound(t *testing.T) {
	var now, most atomic.Int32
	r := newRig(t, zagreb, "2026-11-27", func(o *schedule.Options) { o.Parallel = 3 })
	r.opts.Power = func(m pxelator.Machine) (schedule.Power, error) {
		f, err := r.fleet.For(m)
		return slowPower{f, &now, &most}, err
	}
	r.restart()
	var fakes []*powertest.Machine
	for i := 1; i <= 30; i++ {
		fakes = append(fakes, r.machine(i, powertest.New(pxelator.PowerOff), schedule.AttrOn, "07:30"))
	}
	r.checkAt("2026-11-27 07:30")
	for i, f := range fakes {
		if f.State() != pxelator.PowerOn {
			t.Errorf("machine %d is %v", i+1, f.State())
		}
	}
	if m := most.Load(); m > 3 || m < 1 {
		t.Errorf("%d machines switched at once, want at most 3", m)
	}
}

func TestNewNeedsPower(t *testing.T) {
	if _, err := schedule.New(memstore.New(), &schedule.Options{}); err == nil {
		t.Error("New without Power: no error")
	}
	if _, err := schedule.New(memstore.New(), nil); err == nil {
		t.Error("New with nil options: no error")
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
