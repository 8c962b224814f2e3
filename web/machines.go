package web

import (
	"cmp"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/boot"
)

// MachineInfo is a machine as the pages and the JSON API show it. Secret
// attributes are named in Secrets, never with their values.
type MachineInfo struct {
	MAC         string            `json:"mac"`
	IP          string            `json:"ip"`
	Server      string            `json:"server,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Profile     string            `json:"profile,omitempty"`
	ProfileOnce string            `json:"profile_once,omitempty"` // the profile of one network boot, before the local disk
	Netboot     bool              `json:"netboot"`
	Attrs       map[string]string `json:"attrs,omitempty"`   // the attributes that are not secret
	Secrets     []string          `json:"secrets,omitempty"` // the names of the secret attributes that are set

	Status   *Status       `json:"status,omitempty"`    // from the Monitor
	Schedule *Plan         `json:"schedule,omitempty"`  // from the Schedule
	LastSeen *Seen         `json:"last_seen,omitempty"` // from the audit
	Power    *PowerInfo    `json:"power,omitempty"`     // from the audit, or read from the BMC
	Boot     *BootProgress `json:"boot,omitempty"`      // from the audit
}

// Seen is when a machine was last seen in the audit, and by what.
type Seen struct {
	Time    time.Time `json:"time"`
	Package string    `json:"package"`
	Action  string    `json:"action"`
}

// PowerInfo is a machine's power state and where it comes from: "bmc"
// when it was just read, "audit" for the last reading recorded (by the
// server's poll of the BMCs, or by a power action).
type PowerInfo struct {
	State  pxelator.PowerState `json:"state"`
	Time   time.Time           `json:"time"`
	Source string              `json:"source"`
}

// info returns what the store says of m.
func info(m pxelator.Machine) MachineInfo {
	mi := MachineInfo{
		MAC: m.MAC.String(), Hostname: m.Hostname, Profile: m.Profile,
		Netboot: m.Get(pxelator.AttrNetboot) != "false",
	}
	if m.IP.IsValid() {
		mi.IP = m.IP.String()
	}
	if m.Server.IsValid() {
		mi.Server = m.Server.String()
	}
	for _, k := range m.Keys() {
		a, _ := m.Attr(k)
		switch {
		case a.Secret:
			mi.Secrets = append(mi.Secrets, k)
		case k == boot.AttrOnceProfile && m.Profile == boot.ProfileOnce:
			mi.ProfileOnce = a.Value
		default:
			if mi.Attrs == nil {
				mi.Attrs = make(map[string]string)
			}
			mi.Attrs[k] = a.Value
		}
	}
	return mi
}

// listQuery is what the overview and /api/machines are asked for.
type listQuery struct {
	Text string // words that every listed machine matches
	Sort string // a sort column
	Desc bool
	Page int // from 1
	Per  int // machines per page
}

// Sort columns of the overview.
const (
	sortIP       = "ip"
	sortMAC      = "mac"
	sortHostname = "hostname"
	sortProfile  = "profile"
	sortNetboot  = "netboot"
	sortStatus   = "status"
	sortRTT      = "rtt"
)

func validSort(s string) bool {
	switch s {
	case sortIP, sortMAC, sortHostname, sortProfile, sortNetboot, sortStatus, sortRTT:
		return true
	}
	return false
}

// Page sizes.
const (
	defaultPer = 100
	maxPer     = 1000
)

// listing is one page of machines and the counts of all of them.
type listing struct {
	Total    int // machines matching the query
	Machines []pxelator.Machine
	Pages    int
}

// list selects, sorts and pages the machines of the store. Only the
// machines of the page are looked up further (audit, schedule).
func (h *Handler) list(ctx context.Context, q listQuery) (listing, []pxelator.Machine, error) {
	all, err := h.Store.List(ctx)
	if err != nil {
		return listing{}, nil, err
	}
	ms := all
	if words := strings.Fields(strings.ToLower(q.Text)); len(words) > 0 {
		ms = make([]pxelator.Machine, 0, len(all))
		var b []byte
		for _, m := range all {
			b = appendSearchText(b[:0], m)
			if matchesAll(b, words) {
				ms = append(ms, m)
			}
		}
	}
	if q.Sort != sortIP || q.Desc {
		ms = h.sortMachines(ms, q.Sort, q.Desc)
	}
	l := listing{Total: len(ms), Pages: max(1, (len(ms)+q.Per-1)/q.Per)}
	lo := min((q.Page-1)*q.Per, len(ms))
	hi := min(lo+q.Per, len(ms))
	l.Machines = ms[lo:hi]
	return l, all, nil
}

// sortMachines sorts ms by the column col. Machines that compare equal
// stay in the store's order (by IP address).
func (h *Handler) sortMachines(ms []pxelator.Machine, col string, desc bool) []pxelator.Machine {
	sign := 1
	if desc {
		sign = -1
	}
	sort := func(cmpf func(a, b pxelator.Machine) int) {
		slices.SortStableFunc(ms, func(a, b pxelator.Machine) int { return sign * cmpf(a, b) })
	}
	switch col {
	case sortMAC:
		sort(func(a, b pxelator.Machine) int { return slices.Compare(a.MAC, b.MAC) })
	case sortHostname:
		sort(func(a, b pxelator.Machine) int { return cmp.Compare(a.Hostname, b.Hostname) })
	case sortProfile:
		sort(func(a, b pxelator.Machine) int { return cmp.Compare(a.Profile, b.Profile) })
	case sortNetboot:
		off := func(m pxelator.Machine) int {
			if m.Get(pxelator.AttrNetboot) == "false" {
				return 0
			}
			return 1
		}
		sort(func(a, b pxelator.Machine) int { return cmp.Compare(off(a), off(b)) })
	case sortStatus, sortRTT:
		if h.Monitor == nil {
			return ms
		}
		// Look each machine up once: down first, then expected down,
		// then up, then unknown, the longest in its state first; or by
		// round-trip time.
		type ranked struct {
			rank  int
			since time.Time
			rtt   time.Duration
			m     pxelator.Machine
		}
		rs := make([]ranked, len(ms))
		for i, m := range ms {
			r := ranked{rank: 3, rtt: 1<<63 - 1, m: m}
			if s, ok := h.Monitor.Status(m); ok {
				r.since = s.Since
				switch {
				case s.Up:
					r.rank, r.rtt = 2, s.RTT
				case s.Expected:
					r.rank = 1
				default:
					r.rank = 0
				}
			}
			rs[i] = r
		}
		slices.SortStableFunc(rs, func(a, b ranked) int {
			if col == sortRTT {
				return sign * cmp.Compare(a.rtt, b.rtt)
			}
			return sign * cmp.Or(cmp.Compare(a.rank, b.rank), a.since.Compare(b.since))
		})
		for i := range rs {
			ms[i] = rs[i].m
		}
	}
	return ms
}

// appendSearchText appends what the overview's filter matches: MAC, IP,
// host name, profile and key=value of the attributes that are not
// secret, in lower case.
func appendSearchText(b []byte, m pxelator.Machine) []byte {
	b = append(b, m.MAC.String()...)
	b = append(b, ' ')
	b = m.IP.AppendTo(b)
	b = append(b, ' ')
	b = append(b, strings.ToLower(m.Hostname)...)
	b = append(b, ' ')
	b = append(b, strings.ToLower(m.Profile)...)
	for _, k := range m.Keys() {
		if a, _ := m.Attr(k); !a.Secret {
			b = append(b, ' ')
			b = append(b, k...)
			b = append(b, '=')
			b = append(b, strings.ToLower(a.Value)...)
		}
	}
	return b
}

func matchesAll(text []byte, words []string) bool {
	for _, w := range words {
		if !strings.Contains(string(text), w) {
			return false
		}
	}
	return true
}

// describe fills in what the store, the monitor and the schedule say of
// ms, and what the audit knows (last seen, power, boot progress), with
// the secrets of red replaced. The audit lookups run a few at a time.
func (h *Handler) describe(ctx context.Context, ms []pxelator.Machine, red redactor) []MachineInfo {
	infos := make([]MachineInfo, len(ms))
	for i, m := range ms {
		infos[i] = info(m)
		if h.Monitor != nil {
			if s, ok := h.Monitor.Status(m); ok {
				infos[i].Status = &s
			}
		}
		if h.Schedule != nil {
			if p, ok := h.Schedule.Plan(m); ok {
				infos[i].Schedule = &p
			}
		}
	}
	if h.Audit == nil {
		return infos
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i := range ms {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			h.describeAudit(ctx, ms[i], &infos[i], red)
		})
	}
	wg.Wait()
	return infos
}

// describeAudit fills in what the audit knows of m.
func (h *Handler) describeAudit(ctx context.Context, m pxelator.Machine, mi *MachineInfo, red redactor) {
	if s, err := h.Audit.LastSeen(ctx, m.MAC.String()); err == nil {
		mi.LastSeen = &Seen{Time: s.Time, Package: s.Package, Action: s.Action}
	} else if !errors.Is(err, audit.ErrNotFound) {
		h.queryFailed(ctx, "last seen", err)
	}
	if p, err := h.lastPower(ctx, m.MAC); err == nil {
		mi.Power = p
	} else {
		h.queryFailed(ctx, "power state", err)
	}
	if b, err := h.bootProgress(ctx, m); err == nil {
		if b != nil {
			for i := range b.Steps {
				b.Steps[i].Detail = red.str(b.Steps[i].Detail)
			}
		}
		mi.Boot = b
	} else {
		h.queryFailed(ctx, "boot progress", err)
	}
}

func (h *Handler) queryFailed(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return // the client went away
	}
	h.logger().Warn("web: audit query failed", "query", what, "err", err)
}

// powerPackages are the audit packages whose "power_state" events carry
// a machine's power state in the field "state".
var powerPackages = [...]string{"amt", "drac"}

// lastPower returns the newest power state the audit recorded for the
// machine with mac, or nil.
func (h *Handler) lastPower(ctx context.Context, mac net.HardwareAddr) (*PowerInfo, error) {
	var best *PowerInfo
	for _, pkg := range powerPackages {
		p, err := h.Audit.Events(ctx, audit.EventsQuery{Filter: audit.Filter{Package: pkg, Machine: mac.String()}, Limit: 10})
		if err != nil {
			return nil, err
		}
		for _, d := range p.Documents {
			for _, e := range d.Entries {
				s, ok := e.Fields["state"].(string)
				if !ok || e.Action != "power_state" || (best != nil && !e.Time.After(best.Time)) {
					continue
				}
				best = &PowerInfo{State: pxelator.PowerState(s), Time: e.Time, Source: "audit"}
			}
		}
	}
	return best, nil
}

// summary is the counts on top of the overview.
type summary struct {
	Machines int  `json:"machines"`
	Up       *int `json:"up,omitempty"`
	Down     *int `json:"down,omitempty"`
	NewToday *int `json:"new_today,omitempty"`
}

func (h *Handler) summarize(ctx context.Context, all []pxelator.Machine) summary {
	s := summary{Machines: len(all)}
	if h.Monitor != nil {
		up, down := h.upDown(all)
		s.Up, s.Down = &up, &down
	}
	if h.Audit != nil {
		if n, err := h.today.get(ctx, h); err == nil {
			s.NewToday = &n
		} else {
			h.queryFailed(ctx, "new today", err)
		}
	}
	return s
}

// upDown counts the machines the Monitor sees up, and down without
// being expected down.
func (h *Handler) upDown(all []pxelator.Machine) (up, down int) {
	for _, m := range all {
		if st, ok := h.Monitor.Status(m); ok {
			switch {
			case st.Up:
				up++
			case !st.Expected:
				down++
			}
		}
	}
	return up, down
}

// todayCache holds the count of machines that came today, which is a
// query over the day's DHCP events: it is made at most every 15 s.
type todayCache struct {
	mu   sync.Mutex
	day  time.Time
	at   time.Time
	n    int
	miss bool
}

const todayTTL = 15 * time.Second

func (c *todayCache) get(ctx context.Context, h *Handler) (int, error) {
	now := h.now().In(h.loc())
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.miss && c.day.Equal(midnight) && now.Sub(c.at) < todayTTL && !now.Before(c.at) {
		return c.n, nil
	}
	gs, err := h.Audit.Count(ctx, audit.CountQuery{
		Filter: audit.Filter{Package: "dhcpd", Since: midnight}, By: []string{audit.FieldAction},
	})
	if err != nil {
		c.miss = true
		return 0, err
	}
	n := 0
	for _, g := range gs {
		if len(g.Key) == 1 && g.Key[0] == "new-machine" {
			n += int(g.Count)
		}
	}
	c.day, c.at, c.n, c.miss = midnight, now, n, false
	return n, nil
}
