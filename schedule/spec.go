package schedule

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Machine attribute keys a schedule is read from.
const (
	AttrOn   = "kiosk.on"   // time of day to switch on, HH:MM
	AttrOff  = "kiosk.off"  // time of day to switch off, HH:MM
	AttrDays = "kiosk.days" // days of the week, e.g. mon-fri or sat,sun; default every day
	AttrTZ   = "kiosk.tz"   // IANA time zone, e.g. Europe/Zagreb; default the server's
	// AttrGroup names the machine's group: a machine without kiosk.on
	// and kiosk.off of its own follows its group's schedule.
	AttrGroup = "group"
	// AttrGroupSchedule, set to a group's name on a machine, makes that
	// machine's kiosk.* attributes the schedule of the group.
	AttrGroupSchedule = "group.schedule"
)

// Action is what a planned time does to a machine.
type Action string

// Actions.
const (
	On  Action = "on"
	Off Action = "off"
)

// Daytime is a time of day: minutes after midnight, 0 to 1439.
type Daytime int

// ParseDaytime parses a 24-hour time of day, "07:30" or "7:30".
func ParseDaytime(s string) (Daytime, error) {
	hs, ms, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if !ok || err1 != nil || err2 != nil || len(hs) > 2 || len(ms) != 2 || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("schedule: time of day %s: want HH:MM, 00:00 to 23:59", quote(s))
	}
	return Daytime(h*60 + m), nil
}

// String returns d as HH:MM.
func (d Daytime) String() string { return fmt.Sprintf("%02d:%02d", int(d)/60, int(d)%60) }

// Weekdays is a set of days of the week: bit i stands for time.Weekday(i).
// The zero value means every day.
type Weekdays uint8

// Every is the set of all seven days.
const Every Weekdays = 1<<7 - 1

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func parseDay(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 {
		return 0, false
	}
	for i, n := range dayNames {
		full := strings.ToLower(time.Weekday(i).String())
		if s == n || s == full {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// ParseDays parses a list of days and ranges of days separated by commas:
// "mon-fri", "sat,sun", "mon-wed,fri", "fri-mon" (a range may wrap around
// the week). Days are three-letter or full English names in any case; ""
// and "daily" mean every day.
func ParseDays(s string) (Weekdays, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "" || t == "daily" || t == "*" {
		return Every, nil
	}
	var w Weekdays
	for part := range strings.SplitSeq(t, ",") {
		a, b, isRange := strings.Cut(part, "-")
		from, ok1 := parseDay(a)
		to, ok2 := from, true
		if isRange {
			to, ok2 = parseDay(b)
		}
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("schedule: days %s: want names such as mon-fri or sat,sun", quote(s))
		}
		for d := from; ; d = (d + 1) % 7 {
			w |= 1 << d
			if d == to {
				break
			}
		}
	}
	return w, nil
}

// Has reports whether d is in w; every day is in the zero set.
func (w Weekdays) Has(d time.Weekday) bool { return w == 0 || w&(1<<d) != 0 }

// String returns w as a list ParseDays reads back, such as "mon-fri" or
// "sat,sun", or "daily".
func (w Weekdays) String() string {
	if w == 0 || w&Every == Every {
		return "daily"
	}
	// Start the list after a day that is not in the set, so that a range
	// wrapping the week (fri-mon) is printed as one.
	start := 0
	for i := range 7 {
		if w&(1<<i) == 0 {
			start = (i + 1) % 7
			break
		}
	}
	var parts []string
	for i := 0; i < 7; {
		d := (start + i) % 7
		if w&(1<<d) == 0 {
			i++
			continue
		}
		j := i
		for j+1 < 7 && w&(1<<((start+j+1)%7)) != 0 {
			j++
		}
		switch e := (start + j) % 7; {
		case j == i:
			parts = append(parts, dayNames[d])
		case j == i+1:
			parts = append(parts, dayNames[d], dayNames[e])
		default:
			parts = append(parts, dayNames[d]+"-"+dayNames[e])
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Schedule is the planned on and off times of a machine: every day of
// Days, at On and at Off local time in Location.
type Schedule struct {
	On, Off       Daytime
	HasOn, HasOff bool // whether On and Off are set
	Days          Weekdays
	Location      *time.Location
	// Group is the group whose schedule this is, "" for a machine's own.
	Group string
}

// String returns the schedule as its attributes would read, e.g.
// "on 07:30 off 20:30 mon-fri Europe/Zagreb".
func (s Schedule) String() string {
	var b strings.Builder
	if s.HasOn {
		b.WriteString("on " + s.On.String() + " ")
	}
	if s.HasOff {
		b.WriteString("off " + s.Off.String() + " ")
	}
	b.WriteString(s.Days.String())
	if s.Location != nil {
		b.WriteString(" " + s.Location.String())
	}
	if s.Group != "" {
		b.WriteString(" (group " + s.Group + ")")
	}
	return b.String()
}

// Slot is one planned time: an action at an instant.
type Slot struct {
	Action  Action
	Planned time.Time
}

// maxLookback bounds how far back [Schedule.Last] looks for a planned
// time: a week and a day, enough for any set of days.
const maxLookback = 8 * 24 * time.Hour

// slotsOfDay returns the planned times of the local date y-m-d, if the
// date's day of the week is in the schedule.
func (s Schedule) slotsOfDay(y int, m time.Month, d int) (out [2]Slot, n int) {
	loc := s.loc()
	if !s.Days.Has(time.Date(y, m, d, 12, 0, 0, 0, loc).Weekday()) {
		return out, 0
	}
	if s.HasOn {
		out[n] = Slot{On, PlannedAt(y, m, d, s.On, loc)}
		n++
	}
	if s.HasOff {
		out[n] = Slot{Off, PlannedAt(y, m, d, s.Off, loc)}
		n++
	}
	return out, n
}

// PlannedAt returns the instant of the time of day t on the date y-m-d in
// loc. A time of day that a change of the zone's offset skips (the hour
// lost when daylight saving time starts) is planned as if the clock had
// not been changed yet: 02:30 on a day that goes from 02:00 to 03:00 is
// planned at 03:30. A time of day that happens twice (when daylight saving
// time ends) is planned at its first occurrence. Unlike time.Date, which
// leaves both cases unspecified, the answer is the same in every zone.
func PlannedAt(y int, m time.Month, d int, t Daytime, loc *time.Location) time.Time {
	wall := time.Date(y, m, d, int(t)/60, int(t)%60, 0, 0, time.UTC)
	_, before := wall.Add(-36 * time.Hour).In(loc).Zone()
	_, after := wall.Add(36 * time.Hour).In(loc).Zone()
	var best time.Time
	for _, off := range [2]int{before, after} {
		c := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if c.Hour() == wall.Hour() && c.Minute() == wall.Minute() && c.Day() == d && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	if best.IsZero() {
		// Skipped: the wall time read with the offset in effect before.
		best = wall.Add(-time.Duration(before) * time.Second).In(loc)
	}
	return best
}

func (s Schedule) loc() *time.Location {
	if s.Location == nil {
		return time.Local
	}
	return s.Location
}

// Latest returns the latest planned time in (from, to], if any; it looks
// back at most eight days from to.
func (s Schedule) Latest(from, to time.Time) (Slot, bool) {
	if lim := to.Add(-maxLookback); from.Before(lim) {
		from = lim
	}
	var best Slot
	found := false
	t := to.In(s.loc())
	for i := 0; ; i++ {
		y, m, d := t.Date()
		day := time.Date(y, m, d-i, 12, 0, 0, 0, s.loc())
		if day.Add(36 * time.Hour).Before(from) {
			break
		}
		slots, n := s.slotsOfDay(day.Date())
		for _, sl := range slots[:n] {
			if sl.Planned.After(from) && !sl.Planned.After(to) && (!found || sl.Planned.After(best.Planned)) {
				best, found = sl, true
			}
		}
	}
	return best, found
}

// Last returns the latest planned time at or before t within eight days.
func (s Schedule) Last(t time.Time) (Slot, bool) { return s.Latest(t.Add(-maxLookback), t) }

// Next returns the first planned time of action a after t, within eight
// days.
func (s Schedule) Next(a Action, t time.Time) (time.Time, bool) {
	lt := t.In(s.loc())
	y, m, d := lt.Date()
	for i := range 9 {
		slots, n := s.slotsOfDay(time.Date(y, m, d+i, 12, 0, 0, 0, s.loc()).Date())
		var best time.Time
		for _, sl := range slots[:n] {
			if sl.Action == a && sl.Planned.After(t) && (best.IsZero() || sl.Planned.Before(best)) {
				best = sl.Planned
			}
		}
		if !best.IsZero() {
			return best, true
		}
	}
	return time.Time{}, false
}

// Attributes is what a schedule is parsed from: a machine's attributes.
type Attributes interface {
	Get(key string) string
}

// Parse reads a schedule from the kiosk.* attributes of m: kiosk.on and
// kiosk.off (at least one of them), kiosk.days and kiosk.tz. Without
// kiosk.tz the schedule is in loc (time.Local when nil). It returns false
// and no error when m sets neither kiosk.on nor kiosk.off. Locations are
// loaded with time.LoadLocation.
func Parse(m Attributes, loc *time.Location) (Schedule, bool, error) {
	return parse(m, loc, time.LoadLocation)
}

func parse(m Attributes, loc *time.Location, load func(string) (*time.Location, error)) (Schedule, bool, error) {
	on, off := m.Get(AttrOn), m.Get(AttrOff)
	if on == "" && off == "" {
		return Schedule{}, false, nil
	}
	s := Schedule{Location: loc}
	var err error
	if on != "" {
		if s.On, err = ParseDaytime(on); err != nil {
			return Schedule{}, false, fmt.Errorf("%s: %w", AttrOn, err)
		}
		s.HasOn = true
	}
	if off != "" {
		if s.Off, err = ParseDaytime(off); err != nil {
			return Schedule{}, false, fmt.Errorf("%s: %w", AttrOff, err)
		}
		s.HasOff = true
	}
	if s.HasOn && s.HasOff && s.On == s.Off {
		return Schedule{}, false, fmt.Errorf("schedule: %s and %s are both %v", AttrOn, AttrOff, s.On)
	}
	if s.Days, err = ParseDays(m.Get(AttrDays)); err != nil {
		return Schedule{}, false, fmt.Errorf("%s: %w", AttrDays, err)
	}
	if tz := strings.TrimSpace(m.Get(AttrTZ)); tz != "" {
		// LoadLocation reads files named by tz: keep it to zone names.
		if strings.Contains(tz, "..") || strings.HasPrefix(tz, "/") || strings.ContainsRune(tz, '\\') {
			return Schedule{}, false, fmt.Errorf("schedule: %s %s: not a time zone name", AttrTZ, quote(tz))
		}
		l, err := load(tz)
		if err != nil {
			return Schedule{}, false, fmt.Errorf("schedule: %s %s: unknown time zone", AttrTZ, quote(tz))
		}
		s.Location = l
	}
	if s.Location == nil {
		s.Location = time.Local
	}
	return s, true, nil
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strconv.Quote(s)
}
