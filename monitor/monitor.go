package monitor

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// AttrPing, set to "off" on a machine, leaves it out of the monitoring.
const AttrPing = "ping"

// State is what the monitor knows of a machine.
type State string

// States.
const (
	Unknown State = "unknown" // not answered nor missed enough yet
	Up      State = "up"      // answered the last ping
	Down    State = "down"    // missed DownAfter pings in a row
)

// Expecter says whether a machine is expected not to answer at t (its
// schedule switched it off). *schedule.Scheduler is one.
type Expecter interface {
	ExpectedDown(m pxelator.Machine, t time.Time) bool
}

// Options configure a [Monitor]. The zero value is usable.
type Options struct {
	// Interval is the time between two pings of one machine; default 10
	// seconds. The pings of a round are spread over it.
	Interval time.Duration
	// Timeout is how long a reply may take before it counts as missed;
	// default 1 second, at most Interval.
	Timeout time.Duration
	// DownAfter is how many pings in a row a machine misses before it is
	// down; default 3.
	DownAfter int
	// MaxInFlight bounds the pings waiting for their reply; default 1024.
	// When it is reached, the next ping waits for a reply or a timeout.
	MaxInFlight int
	// Expected, if not nil, tells which machines are expected down: they
	// go down without an alert.
	Expected Expecter
	// Alerter, if not nil, is told of each change to down (unless
	// expected) and of each change back to up after an alert. Alerts are
	// delivered one at a time, in order, by one goroutine; AlertTimeout
	// (default 30 seconds) bounds each.
	Alerter      Alerter
	AlertTimeout time.Duration
	// Recorder records every reply (package "ping", action "reply", field
	// rtt in milliseconds) and every change of state (package "monitor",
	// actions "up" and "down"); nil means no audit.
	Recorder audit.Recorder
	// Logger logs changes of state; nil means slog.Default().
	Logger *slog.Logger
}

// Status is what the monitor knows of one machine.
type Status struct {
	IP       netip.Addr
	MAC      net.HardwareAddr
	Hostname string
	State    State
	// Since is when the machine entered State; zero while Unknown.
	Since time.Time
	// Expected reports, for a machine that is down, whether it is
	// expected down (switched off by its schedule).
	Expected bool
	// RTT is the round-trip time of the last reply, LastReply its time;
	// zero before the first reply.
	RTT       time.Duration
	LastReply time.Time
	// Misses counts the pings missed since the last reply.
	Misses int
	// Sent and Received count pings and replies.
	Sent, Received uint64
}

// Monitor pings every machine of a store at an interval through one
// socket, with a bounded number of pings in flight, and tracks which are
// up and which are down. Its methods are safe for concurrent use.
type Monitor struct {
	store pxelator.Store
	opts  Options
	log   *slog.Logger
	token uint64 // in every payload, to tell our replies from others

	mu       sync.Mutex
	byIP     map[netip.Addr]*target
	byKey    map[uint32]*target
	nextKey  uint32
	probe    uint32
	inflight int
	alerts   chan Alert
	dropped  uint64 // alerts dropped when the queue was full

	freed chan struct{} // a reply made room in flight
}

// target is one machine being pinged; its fields are guarded by mu.
type target struct {
	key        uint32
	m          pxelator.Machine
	st         Status
	pending    bool
	probe      uint32 // of the ping in flight
	sentAt     time.Time
	unexpected int  // pings missed in a row while not expected down
	alerted    bool // a down alert was sent and no up alert since
}

// New returns a monitor of the machines in store.
func New(store pxelator.Store, opts *Options) *Monitor {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	o.Timeout = min(o.Timeout, o.Interval)
	if o.DownAfter <= 0 {
		o.DownAfter = 3
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1024
	}
	if o.AlertTimeout <= 0 {
		o.AlertTimeout = 30 * time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	var tok [8]byte
	rand.Read(tok[:])
	return &Monitor{
		store: store, opts: o, log: log, token: binary.BigEndian.Uint64(tok[:]),
		byIP: map[netip.Addr]*target{}, byKey: map[uint32]*target{},
		alerts: make(chan Alert, 1024), freed: make(chan struct{}, 1),
	}
}

// payloadLen is the size of a ping's payload: the monitor's token, the
// target's key and the probe number.
const payloadLen = 16

func (mo *Monitor) payload(b []byte, key, probe uint32) []byte {
	b = binary.BigEndian.AppendUint64(b[:0], mo.token)
	b = binary.BigEndian.AppendUint32(b, key)
	return binary.BigEndian.AppendUint32(b, probe)
}

// Run pings the machines of the store until ctx is done, then closes conn
// and returns nil. It uses three goroutines, whatever the number of
// machines: one sends, one reads replies, one delivers alerts. Machines
// added, changed or removed in the store count from the next round.
func (mo *Monitor) Run(ctx context.Context, conn Conn) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer conn.Close()
	defer cancel()
	wg.Go(func() { mo.receive(ctx, conn) })
	wg.Go(func() { mo.deliver(ctx) })

	changes := mo.store.Watch(ctx)
	reload := true
	var order []*target
	var fifo queue
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	buf := make([]byte, 0, payloadLen)
	var seq uint16
	quantum := min(10*time.Millisecond, mo.opts.Timeout/4)
	// wait sleeps until t, expiring the pings whose time is up; with
	// room, it also waits for room in flight. It reports false when ctx
	// is done.
	wait := func(t time.Time, room bool) bool {
		for {
			now := time.Now()
			mo.expire(ctx, &fifo, now)
			if !now.Before(t) && (!room || mo.hasRoom()) {
				return true
			}
			next := t
			if d, ok := fifo.front(); ok && d.Before(next) {
				next = d
			}
			if room && !now.Before(t) {
				// Full: a reply or the oldest ping's timeout makes room.
				next = now.Add(mo.opts.Timeout)
				if d, ok := fifo.front(); ok {
					next = d
				}
			}
			// Waking for each ping of a thousand a second costs more
			// than the pings: a ping may wait up to a quantum, and the
			// pings due by then go out together.
			timer.Reset(max(next.Sub(now), quantum))
			select {
			case <-ctx.Done():
				return false
			case <-changes:
				reload = true
			case <-mo.freed:
			case <-timer.C:
			}
		}
	}
	for round := time.Now(); ; round = round.Add(mo.opts.Interval) {
		if now := time.Now(); now.Sub(round) > mo.opts.Interval {
			round = now // the sender fell behind (a suspended machine): start afresh
		}
		if reload {
			reload = false
			var err error
			if order, err = mo.load(ctx); err != nil {
				mo.log.WarnContext(ctx, "monitor: listing machines", "err", err)
			}
		}
		n := len(order)
		for i, tg := range order {
			at := round.Add(mo.opts.Interval * time.Duration(i) / time.Duration(n))
			if !wait(at, true) {
				return nil
			}
			mo.mu.Lock()
			if mo.byKey[tg.key] != tg || tg.pending {
				// Removed from the store, or still in flight (a
				// Timeout as long as the Interval): skip a round.
				mo.mu.Unlock()
				continue
			}
			mo.probe++
			seq++
			tg.pending, tg.probe, tg.sentAt = true, mo.probe, time.Now()
			tg.st.Sent++
			mo.inflight++
			ip, probe := tg.st.IP, tg.probe
			mo.mu.Unlock()
			fifo.push(pend{key: tg.key, probe: probe, deadline: tg.sentAt.Add(mo.opts.Timeout)})
			if err := conn.WriteEcho(ip, seq, mo.payload(buf, tg.key, probe)); err != nil {
				// Unreachable networks and full buffers count as
				// misses when the ping times out.
				mo.log.DebugContext(ctx, "monitor: ping", "ip", ip, "err", err)
			}
		}
		if !wait(round.Add(mo.opts.Interval), false) {
			return nil
		}
	}
}

// hasRoom reports whether another ping may be sent.
func (mo *Monitor) hasRoom() bool {
	mo.mu.Lock()
	defer mo.mu.Unlock()
	return mo.inflight < mo.opts.MaxInFlight
}

// load reads the machines to ping from the store and returns them in
// order of IP address, keeping the state of those already known.
func (mo *Monitor) load(ctx context.Context) ([]*target, error) {
	list, err := mo.store.List(ctx)
	if err != nil {
		return nil, err
	}
	mo.mu.Lock()
	defer mo.mu.Unlock()
	seen := make(map[netip.Addr]bool, len(list))
	order := make([]*target, 0, len(list))
	for _, m := range list {
		if !m.IP.Is4() || m.Get(AttrPing) == "off" || seen[m.IP] {
			continue
		}
		seen[m.IP] = true
		tg := mo.byIP[m.IP]
		if tg == nil {
			mo.nextKey++
			tg = &target{key: mo.nextKey, st: Status{IP: m.IP, State: Unknown}}
			mo.byIP[m.IP], mo.byKey[tg.key] = tg, tg
		}
		tg.m = m
		tg.st.MAC, tg.st.Hostname = m.MAC, m.Hostname
		order = append(order, tg)
	}
	for ip, tg := range mo.byIP {
		if !seen[ip] {
			if tg.pending {
				mo.inflight--
			}
			delete(mo.byIP, ip)
			delete(mo.byKey, tg.key)
		}
	}
	slices.SortFunc(order, func(a, b *target) int { return a.st.IP.Compare(b.st.IP) })
	return order, nil
}

// receive reads replies until the connection is closed.
func (mo *Monitor) receive(ctx context.Context, conn Conn) {
	buf := make([]byte, 1500)
	for {
		from, payload, err := conn.ReadEcho(buf)
		now := time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || ctx.Err() != nil {
				return
			}
			mo.log.WarnContext(ctx, "monitor: reading replies", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		mo.reply(ctx, from, payload, now)
	}
}

// reply handles the reply with payload from ip received at now.
func (mo *Monitor) reply(ctx context.Context, from netip.Addr, payload []byte, now time.Time) {
	if len(payload) != payloadLen || binary.BigEndian.Uint64(payload) != mo.token {
		return
	}
	key, probe := binary.BigEndian.Uint32(payload[8:]), binary.BigEndian.Uint32(payload[12:])
	mo.mu.Lock()
	tg := mo.byKey[key]
	if tg == nil || !tg.pending || tg.probe != probe || tg.st.IP != from {
		mo.mu.Unlock()
		return // late (timed out already), duplicated or forged
	}
	tg.pending = false
	mo.inflight--
	rtt := now.Sub(tg.sentAt)
	tg.st.RTT, tg.st.LastReply = rtt, now
	tg.st.Received++
	tg.st.Misses, tg.unexpected = 0, 0
	var change *transition
	if tg.st.State != Up {
		change = mo.change(tg, Up, false, now)
	}
	m := tg.m
	mo.mu.Unlock()
	select {
	case mo.freed <- struct{}{}:
	default:
	}
	audit.Record(ctx, mo.opts.Recorder, audit.Event{
		Time: now, Package: "ping", Action: "reply", IP: m.IP, MAC: m.MAC, Hostname: m.Hostname,
		Fields: map[string]any{"rtt": float64(rtt.Nanoseconds()) / 1e6},
	})
	mo.report(ctx, change)
}

// expire counts as missed the pings in fifo whose time is up at now.
func (mo *Monitor) expire(ctx context.Context, fifo *queue, now time.Time) {
	for {
		d, ok := fifo.front()
		if !ok || d.After(now) {
			return
		}
		p := fifo.pop()
		mo.mu.Lock()
		tg := mo.byKey[p.key]
		if tg == nil || !tg.pending || tg.probe != p.probe {
			mo.mu.Unlock()
			continue // answered in time, or removed
		}
		tg.pending = false
		mo.inflight--
		m := tg.m
		mo.mu.Unlock()
		// Ask outside the lock: the answer may take a look-up.
		expected := mo.opts.Expected != nil && mo.opts.Expected.ExpectedDown(m, now)
		mo.mu.Lock()
		tg.st.Misses++
		if expected {
			tg.unexpected = 0
		} else {
			tg.unexpected++
		}
		var change *transition
		if tg.st.Misses >= mo.opts.DownAfter && tg.st.State != Down {
			change = mo.change(tg, Down, expected, now)
		} else if tg.st.State == Down {
			tg.st.Expected = expected
		}
		var alert *Alert
		if tg.st.State == Down && !tg.alerted && tg.unexpected >= mo.opts.DownAfter {
			tg.alerted = true
			a := tg.alert(now)
			alert = &a
		}
		mo.mu.Unlock()
		mo.report(ctx, change)
		if alert != nil {
			mo.enqueue(ctx, *alert)
		}
	}
}

// transition is a change of state to record and log.
type transition struct {
	m        pxelator.Machine
	from, to State
	since    time.Time // when the old state began
	misses   int
	expected bool
	alert    *Alert // an up alert to send
}

// change moves tg to state; mo.mu is held.
func (mo *Monitor) change(tg *target, to State, expected bool, now time.Time) *transition {
	t := &transition{m: tg.m, from: tg.st.State, to: to, since: tg.st.Since, misses: tg.st.Misses, expected: expected}
	tg.st.State, tg.st.Since, tg.st.Expected = to, now, expected && to == Down
	if to == Up && tg.alerted {
		tg.alerted = false
		a := tg.alert(now)
		t.alert = &a
	}
	return t
}

func (tg *target) alert(now time.Time) Alert {
	return Alert{
		Time: now, State: tg.st.State, IP: tg.st.IP, MAC: tg.st.MAC, Hostname: tg.st.Hostname,
		Misses: tg.st.Misses, RTT: tg.st.RTT, LastReply: tg.st.LastReply,
	}
}

// report records and logs a change of state and sends its alert.
func (mo *Monitor) report(ctx context.Context, t *transition) {
	if t == nil {
		return
	}
	fields := map[string]any{"from": string(t.from), "misses": t.misses}
	if t.to == Down {
		fields["expected"] = t.expected
	}
	if !t.since.IsZero() {
		fields["after"] = time.Since(t.since).Seconds()
	}
	audit.Record(ctx, mo.opts.Recorder, audit.Event{
		Package: "monitor", Action: string(t.to), IP: t.m.IP, MAC: t.m.MAC, Hostname: t.m.Hostname, Fields: fields,
	})
	attrs := []any{"ip", t.m.IP, "mac", t.m.MAC, "hostname", t.m.Hostname, "from", t.from}
	switch {
	case t.to == Down && t.expected:
		mo.log.InfoContext(ctx, "monitor: down, as its schedule expects", attrs...)
	case t.to == Down:
		mo.log.WarnContext(ctx, "monitor: down", append(attrs, "misses", t.misses)...)
	default:
		mo.log.InfoContext(ctx, "monitor: up", attrs...)
	}
	if t.alert != nil {
		mo.enqueue(ctx, *t.alert)
	}
}

// Status returns what the monitor knows of the machine with address ip.
func (mo *Monitor) Status(ip netip.Addr) (Status, bool) {
	mo.mu.Lock()
	defer mo.mu.Unlock()
	tg, ok := mo.byIP[ip]
	if !ok {
		return Status{}, false
	}
	return tg.st, true
}

// Statuses returns the status of every machine pinged, by IP address.
func (mo *Monitor) Statuses() []Status {
	mo.mu.Lock()
	out := make([]Status, 0, len(mo.byIP))
	for _, tg := range mo.byIP {
		out = append(out, tg.st)
	}
	mo.mu.Unlock()
	slices.SortFunc(out, func(a, b Status) int { return a.IP.Compare(b.IP) })
	return out
}

// pend is a ping in flight, in order of deadline.
type pend struct {
	key, probe uint32
	deadline   time.Time
}

// queue is a FIFO of pings in flight. All pings have the same timeout, so
// the order sent is the order of deadlines.
type queue struct {
	items []pend
	head  int
}

func (q *queue) push(p pend) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append(q.items[:0], q.items[q.head:]...)
		q.head = 0
	}
	q.items = append(q.items, p)
}

func (q *queue) front() (time.Time, bool) {
	if q.head == len(q.items) {
		return time.Time{}, false
	}
	return q.items[q.head].deadline, true
}

func (q *queue) pop() pend {
	p := q.items[q.head]
	q.head++
	return p
}
