package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Power switches one machine on and off and, where its BMC can tell,
// reads its power state. The power package's controllers satisfy it.
type Power interface {
	On(ctx context.Context) error
	Off(ctx context.Context) error
	// PowerState returns the machine's power state. An error wrapping
	// errors.ErrUnsupported means that the backend cannot tell (a
	// Wake-on-LAN target); the scheduler then acts without reading.
	PowerState(ctx context.Context) (pxelator.PowerState, error)
	// Close ends the session with the BMC; the scheduler calls it after
	// each planned time.
	Close(ctx context.Context) error
}

// PowerFunc returns the [Power] of machine m.
type PowerFunc func(m pxelator.Machine) (Power, error)

// Outcomes of a planned time, in the audit and in [Plan.LastOutcome].
const (
	OutcomeSwitched    = "switched"    // the action was sent and accepted
	OutcomeAlready     = "already"     // the BMC said the machine was already there
	OutcomeRetry       = "retry"       // the action failed and will be tried again
	OutcomeFailed      = "failed"      // the action failed on every attempt
	OutcomeUnsupported = "unsupported" // the backend cannot do it (Wake-on-LAN cannot switch off)
)

// Options configure a [Scheduler]. Only Power is required.
type Options struct {
	// Power returns the power control of a machine.
	Power PowerFunc
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Location is the time zone of schedules without kiosk.tz; default
	// time.Local.
	Location *time.Location
	// CatchUp is how long after a planned time the scheduler still acts
	// on it when it was missed: the server was down, or its clock jumped.
	// Default 30 minutes; negative means only planned times since the
	// previous pass (none after a start).
	CatchUp time.Duration
	// Tick is how often Run checks the schedules; default 10 seconds.
	Tick time.Duration
	// Attempts is how often an action is tried before its planned time
	// is given up as failed; default 5. Retries wait Backoff (default 10
	// seconds), doubling up to 5 minutes, and stop when the planned time
	// leaves the catch-up window or the next planned time comes.
	Attempts int
	Backoff  time.Duration
	// Parallel bounds the machines switched at once; default 8.
	Parallel int
	// Timeout bounds one action, the state reading included; default 60
	// seconds.
	Timeout time.Duration
	// BootGrace is how long after a planned on-time a machine that does
	// not answer is still expected down (see [Scheduler.ExpectedDown]);
	// default 10 minutes.
	BootGrace time.Duration
	// State is the file that keeps, across restarts, which planned times
	// were done; "" keeps it in memory only, so that a restart inside the
	// catch-up window may act again.
	State string
	// Recorder records every decision; nil means no audit.
	Recorder audit.Recorder
	// Logger logs actions and failures; nil means slog.Default().
	Logger *slog.Logger
}

// maxBackoff bounds the wait between two attempts.
const maxBackoff = 5 * time.Minute

// Scheduler switches machines on and off at the times their attributes
// plan. Its methods are safe for concurrent use.
type Scheduler struct {
	store pxelator.Store
	opts  Options
	log   *slog.Logger
	j     *journal

	checkMu sync.Mutex // one pass at a time
	last    time.Time  // the clock at the previous pass

	mu       sync.Mutex
	machines map[string]entry // by MAC, as of the last pass
	holders  map[string]pxelator.Machine
	retries  map[slotKey]retry
	reported map[string]string // MAC: the problem last reported
	locs     map[string]*time.Location
}

type entry struct {
	m     pxelator.Machine
	sched Schedule
	ok    bool
	err   error
}

type retry struct {
	attempts int
	next     time.Time
}

// New returns a scheduler of the machines in store, reading the state
// file of opts (creating it when missing). Close it when done.
func New(store pxelator.Store, opts *Options) (*Scheduler, error) {
	if opts == nil || opts.Power == nil {
		return nil, errors.New("schedule: Options.Power is required")
	}
	o := *opts
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.CatchUp == 0 {
		o.CatchUp = 30 * time.Minute
	}
	if o.CatchUp < 0 {
		o.CatchUp = 0
	}
	if o.Tick <= 0 {
		o.Tick = 10 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 10 * time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.BootGrace <= 0 {
		o.BootGrace = 10 * time.Minute
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	j, err := openJournal(o.State, o.Now().Add(-o.keep()))
	if err != nil {
		return nil, err
	}
	if j.bad > 0 {
		log.Warn("schedule: state lines skipped", "file", o.State, "lines", j.bad)
	}
	return &Scheduler{
		store: store, opts: o, log: log, j: j,
		machines: map[string]entry{}, holders: map[string]pxelator.Machine{},
		retries: map[slotKey]retry{}, reported: map[string]string{}, locs: map[string]*time.Location{},
	}, nil
}

// keep is how long done planned times are remembered: beyond any catch-up
// window and any look back.
func (o *Options) keep() time.Duration { return maxLookback + o.CatchUp + time.Hour }

// Close closes the state file.
func (s *Scheduler) Close() error { return s.j.close() }

// Run checks the schedules every Tick and after every change of the
// store, until ctx is done; it then waits for the actions under way and
// returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	changes := s.store.Watch(ctx)
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	for {
		if err := s.Check(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "schedule: check", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-changes:
			// A burst of changes (a DHCP storm) costs one pass a second.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
}

// Check makes one pass: for every machine with a schedule it finds the
// latest planned time inside the catch-up window (or since the previous
// pass, if the clock jumped forward further) and, unless that time is
// done, reads the machine's power state and switches it if needed. It
// returns when the actions it started are done. Run calls Check; a program
// that drives its own loop may call it instead.
func (s *Scheduler) Check(ctx context.Context) error {
	s.checkMu.Lock()
	defer s.checkMu.Unlock()
	now := s.opts.Now()
	list, err := s.store.List(ctx)
	if err != nil {
		return fmt.Errorf("schedule: listing machines: %w", err)
	}
	s.refresh(ctx, list)

	from := now.Add(-s.opts.CatchUp)
	if !s.last.IsZero() && s.last.Before(from) {
		from = s.last // the clock jumped forward since the last pass
	}
	if s.last.IsZero() && s.opts.CatchUp == 0 {
		from = now
	}
	s.last = now

	var jobs []job
	s.mu.Lock()
	for mac, e := range s.machines {
		if !e.ok {
			continue
		}
		sl, ok := e.sched.Latest(from, now)
		if !ok {
			continue
		}
		k := slotKey{mac, sl.Action, sl.Planned.Unix()}
		if _, done := s.j.outcome(k); done {
			continue
		}
		r := s.retries[k]
		// A retry waits its backoff, unless the clock went back by more
		// than the longest backoff.
		if now.Before(r.next) && r.next.Sub(now) <= maxBackoff {
			continue
		}
		jobs = append(jobs, job{m: e.m, sched: e.sched, slot: sl, key: k, attempt: r.attempts + 1})
	}
	for k, r := range s.retries {
		if time.Unix(k.planned, 0).Before(now.Add(-s.opts.CatchUp-maxBackoff)) && now.After(r.next) {
			delete(s.retries, k)
		}
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	work := make(chan job)
	for range min(s.opts.Parallel, len(jobs)) {
		wg.Go(func() {
			for jb := range work {
				s.run(ctx, jb, now)
			}
		})
	}
	for _, jb := range jobs {
		work <- jb
	}
	close(work)
	wg.Wait()
	return s.j.maybeCompact(now.Add(-s.opts.keep()))
}

// refresh reads the schedules of the machines listed.
func (s *Scheduler) refresh(ctx context.Context, list []pxelator.Machine) {
	problems := make(map[string]string)
	holders := make(map[string]pxelator.Machine)
	for _, m := range list {
		g := m.Get(AttrGroupSchedule)
		if g == "" {
			continue
		}
		if h, dup := holders[g]; dup {
			problems[m.MAC.String()] = fmt.Sprintf("group %q already has its schedule from %v", g, h.IP)
			continue
		}
		holders[g] = m
	}
	machines := make(map[string]entry, len(list))
	for _, m := range list {
		sched, ok, err := s.resolve(m, holders)
		mac := m.MAC.String()
		machines[mac] = entry{m: m, sched: sched, ok: ok, err: err}
		if err != nil {
			problems[mac] = strings.TrimPrefix(problems[mac]+"; "+err.Error(), "; ")
		}
	}
	s.mu.Lock()
	s.machines, s.holders = machines, holders
	old := s.reported
	s.reported = problems
	s.mu.Unlock()
	for mac, p := range problems {
		if old[mac] != p {
			s.report(ctx, machines[mac].m, p)
		}
	}
}

// report logs and audits a problem with a machine's schedule; refresh
// calls it once per problem, until the problem changes.
func (s *Scheduler) report(ctx context.Context, m pxelator.Machine, problem string) {
	s.log.WarnContext(ctx, "schedule: ignoring schedule attributes", "machine", m, "err", problem)
	audit.Record(ctx, s.opts.Recorder, audit.Event{
		Time: s.opts.Now(), Package: "schedule", Action: "invalid",
		IP: m.IP, MAC: m.MAC, Hostname: m.Hostname, Fields: map[string]any{"error": problem},
	})
}

// resolve returns the schedule of m: its own kiosk.* attributes, or those
// of the holder of its group's schedule.
func (s *Scheduler) resolve(m pxelator.Machine, holders map[string]pxelator.Machine) (Schedule, bool, error) {
	sched, ok, err := parse(m, s.opts.Location, s.location)
	if err != nil || ok {
		return sched, ok, err
	}
	g := m.Get(AttrGroup)
	if g == "" {
		return Schedule{}, false, nil
	}
	h, ok := holders[g]
	if !ok {
		return Schedule{}, false, nil
	}
	sched, ok, err = parse(h, s.opts.Location, s.location)
	if err != nil {
		return Schedule{}, false, fmt.Errorf("group %s (schedule of %v): %w", g, h.IP, err)
	}
	sched.Group = g
	return sched, ok, nil
}

// location loads a time zone once.
func (s *Scheduler) location(name string) (*time.Location, error) {
	s.mu.Lock()
	l, ok := s.locs[name]
	s.mu.Unlock()
	if ok {
		if l == nil {
			return nil, errors.New("unknown time zone")
		}
		return l, nil
	}
	l, err := time.LoadLocation(name)
	s.mu.Lock()
	s.locs[name] = l // nil when unknown, so that a bad name costs one look-up
	s.mu.Unlock()
	return l, err
}

// job is one planned time to act on.
type job struct {
	m       pxelator.Machine
	sched   Schedule
	slot    Slot
	key     slotKey
	attempt int
}

// run acts on one planned time and records the outcome.
func (s *Scheduler) run(ctx context.Context, jb job, now time.Time) {
	actx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	outcome, state, err := s.act(actx, jb)
	cancel()
	if ctx.Err() != nil {
		return // shutting down: the attempt does not count
	}
	if outcome == OutcomeFailed && jb.attempt < s.opts.Attempts {
		outcome = OutcomeRetry
	}
	fields := map[string]any{
		"planned": jb.slot.Planned.In(jb.sched.loc()).Format(time.RFC3339),
		"outcome": outcome,
		"attempt": jb.attempt,
		"late":    now.Sub(jb.slot.Planned).Seconds(),
	}
	if state != "" {
		fields["state"] = string(state)
	}
	if jb.sched.Group != "" {
		fields["group"] = jb.sched.Group
	}
	if err != nil {
		fields["error"] = err.Error()
	}
	audit.Record(ctx, s.opts.Recorder, audit.Event{
		Time: now, Package: "schedule", Action: string(jb.slot.Action),
		IP: jb.m.IP, MAC: jb.m.MAC, Hostname: jb.m.Hostname, Fields: fields,
	})
	attrs := []any{"machine", jb.m, "action", jb.slot.Action, "planned", jb.slot.Planned, "outcome", outcome, "attempt", jb.attempt}
	if err != nil {
		s.log.WarnContext(ctx, "schedule: "+string(jb.slot.Action), append(attrs, "err", err)...)
	} else {
		s.log.InfoContext(ctx, "schedule: "+string(jb.slot.Action), attrs...)
	}

	if outcome == OutcomeRetry {
		wait := s.opts.Backoff << (jb.attempt - 1)
		if wait > maxBackoff || wait <= 0 {
			wait = maxBackoff
		}
		s.mu.Lock()
		s.retries[jb.key] = retry{attempts: jb.attempt, next: now.Add(wait)}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	delete(s.retries, jb.key)
	s.mu.Unlock()
	rec := record{MAC: jb.key.mac, Action: jb.slot.Action, Planned: jb.slot.Planned, Outcome: outcome, At: now}
	if err := s.j.add(rec); err != nil {
		s.log.ErrorContext(ctx, "schedule: recording a planned time as done", "err", err)
	}
}

// act switches one machine, unless its BMC says it is already there.
func (s *Scheduler) act(ctx context.Context, jb job) (outcome string, state pxelator.PowerState, err error) {
	p, err := s.opts.Power(jb.m)
	if err != nil {
		return OutcomeFailed, "", err
	}
	defer p.Close(ctx)
	want, do := pxelator.PowerOn, p.On
	if jb.slot.Action == Off {
		want, do = pxelator.PowerOff, p.Off
	}
	st, err := p.PowerState(ctx)
	switch {
	case err == nil && st == want:
		return OutcomeAlready, st, nil
	case err == nil:
		state = st
	case errors.Is(err, errors.ErrUnsupported):
		state = pxelator.PowerUnknown
	default:
		// The action's own answer tells whether the BMC is reachable.
		s.log.DebugContext(ctx, "schedule: reading the power state", "machine", jb.m, "err", err)
		state = pxelator.PowerUnknown
	}
	switch err := do(ctx); {
	case err == nil:
		return OutcomeSwitched, state, nil
	case errors.Is(err, errors.ErrUnsupported):
		return OutcomeUnsupported, state, err
	default:
		return OutcomeFailed, state, err
	}
}

// Plan is what a machine's schedule holds for it, for a web page.
type Plan struct {
	Schedule Schedule
	// NextOn and NextOff are the next planned times after now; zero when
	// the schedule has none within eight days.
	NextOn, NextOff time.Time
	// Last is the latest planned time at or before now, and LastOutcome
	// its outcome ("" when it is not done, or had none yet).
	Last        Slot
	LastOutcome string
	// Err is why the machine's schedule attributes are ignored, if they
	// are.
	Err error
}

// Plan returns the plan of the machine with the hardware address mac, as
// of the last pass, and false when the machine has no schedule.
func (s *Scheduler) Plan(mac net.HardwareAddr) (Plan, bool) {
	s.mu.Lock()
	e, ok := s.machines[mac.String()]
	s.mu.Unlock()
	if !ok || (!e.ok && e.err == nil) {
		return Plan{}, false
	}
	if e.err != nil {
		return Plan{Err: e.err}, true
	}
	now := s.opts.Now()
	p := Plan{Schedule: e.sched}
	p.NextOn, _ = e.sched.Next(On, now)
	p.NextOff, _ = e.sched.Next(Off, now)
	if sl, ok := e.sched.Last(now); ok {
		p.Last = sl
		if r, done := s.j.outcome(slotKey{mac.String(), sl.Action, sl.Planned.Unix()}); done {
			p.LastOutcome = r.Outcome
		}
	}
	return p, true
}

// ExpectedDown reports whether machine m is expected not to answer at t
// because of its schedule: its latest planned time is an off-time, or an
// on-time less than BootGrace ago, and was not a failure. A monitor asks
// it before it alerts.
func (s *Scheduler) ExpectedDown(m pxelator.Machine, t time.Time) bool {
	s.mu.Lock()
	holders := s.holders
	s.mu.Unlock()
	sched, ok, err := s.resolve(m, holders)
	if err != nil || !ok {
		return false
	}
	sl, ok := sched.Last(t)
	if !ok {
		return false
	}
	if r, done := s.j.outcome(slotKey{m.MAC.String(), sl.Action, sl.Planned.Unix()}); done {
		if r.Outcome == OutcomeFailed || r.Outcome == OutcomeUnsupported {
			return false
		}
	}
	if sl.Action == Off {
		return true
	}
	return t.Sub(sl.Planned) < s.opts.BootGrace
}
