package schedule_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/schedule"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestParseDaytime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want schedule.Daytime
		bad  bool
	}{
		{in: "07:30", want: 7*60 + 30},
		{in: "7:30", want: 7*60 + 30},
		{in: " 20:30 ", want: 20*60 + 30},
		{in: "00:00", want: 0},
		{in: "23:59", want: 23*60 + 59},
		{in: "24:00", bad: true},
		{in: "12:60", bad: true},
		{in: "12:5", bad: true},
		{in: "123:00", bad: true},
		{in: "-1:00", bad: true},
		{in: "0730", bad: true},
		{in: "", bad: true},
		{in: "7:30pm", bad: true},
	} {
		got, err := schedule.ParseDaytime(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseDaytime(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDaytime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if back, err := schedule.ParseDaytime(got.String()); err != nil || back != got {
			t.Errorf("%q: String %q does not parse back: %v %v", tc.in, got.String(), back, err)
		}
	}
}

func TestParseDays(t *testing.T) {
	const (
		sun = 1 << time.Sunday
		mon = 1 << time.Monday
		tue = 1 << time.Tuesday
		wed = 1 << time.Wednesday
		thu = 1 << time.Thursday
		fri = 1 << time.Friday
		sat = 1 << time.Saturday
	)
	for _, tc := range []struct {
		in     string
		want   schedule.Weekdays
		string string
		bad    bool
	}{
		{in: "", want: schedule.Every, string: "daily"},
		{in: "daily", want: schedule.Every, string: "daily"},
		{in: "mon-fri", want: mon | tue | wed | thu | fri, string: "mon-fri"},
		{in: "sat,sun", want: sat | sun, string: "sat,sun"},
		{in: "Sat, Sunday", want: sat | sun, string: "sat,sun"},
		{in: "mon-wed,fri", want: mon | tue | wed | fri, string: "mon-wed,fri"},
		{in: "fri-mon", want: fri | sat | sun | mon, string: "fri-mon"},
		{in: "sun-sat", want: schedule.Every, string: "daily"},
		{in: "wed", want: wed, string: "wed"},
		{in: "MONDAY-tuesday", want: mon | tue, string: "mon,tue"},
		{in: "mo-fr", bad: true},
		{in: "mon-", bad: true},
		{in: "mon,,fri", bad: true},
		{in: "weekdays", bad: true},
	} {
		got, err := schedule.ParseDays(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseDays(%q) = %v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseDays(%q) = %07b, %v; want %07b", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.string {
			t.Errorf("ParseDays(%q).String() = %q, want %q", tc.in, got.String(), tc.string)
		}
		if back, err := schedule.ParseDays(got.String()); err != nil || back != got {
			t.Errorf("%q: %q does not parse back: %07b %v", tc.in, got.String(), back, err)
		}
	}
}

// attrs is a machine's attributes as key, value pairs.
func attrs(kv ...string) pxelator.Machine {
	var m pxelator.Machine
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i], kv[i+1])
	}
	return m
}

func TestParse(t *testing.T) {
	zagreb := mustLoad(t, "Europe/Zagreb")
	for _, tc := range []struct {
		name  string
		m     pxelator.Machine
		want  string // Schedule.String, "" for none
		error string // a part of the error
	}{
		{name: "none", m: attrs("hostname", "x")},
		{name: "on and off", m: attrs(schedule.AttrOn, "07:30", schedule.AttrOff, "20:30"), want: "on 07:30 off 20:30 daily UTC"},
		{name: "only off", m: attrs(schedule.AttrOff, "20:30", schedule.AttrDays, "mon-fri"), want: "off 20:30 mon-fri UTC"},
		{name: "zone", m: attrs(schedule.AttrOn, "7:00", schedule.AttrTZ, "Europe/Zagreb"), want: "on 07:00 daily Europe/Zagreb"},
		{name: "bad on", m: attrs(schedule.AttrOn, "7.30"), error: "kiosk.on"},
		{name: "bad off", m: attrs(schedule.AttrOff, "25:00"), error: "kiosk.off"},
		{name: "bad days", m: attrs(schedule.AttrOn, "07:30", schedule.AttrDays, "weekend"), error: "kiosk.days"},
		{name: "same times", m: attrs(schedule.AttrOn, "07:30", schedule.AttrOff, "07:30"), error: "both"},
		{name: "unknown zone", m: attrs(schedule.AttrOn, "07:30", schedule.AttrTZ, "Mars/Olympus"), error: "unknown time zone"},
		{name: "path as zone", m: attrs(schedule.AttrOn, "07:30", schedule.AttrTZ, "../../etc/passwd"), error: "not a time zone name"},
		{name: "absolute zone", m: attrs(schedule.AttrOn, "07:30", schedule.AttrTZ, "/etc/localtime"), error: "not a time zone name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok, err := schedule.Parse(tc.m, time.UTC)
			switch {
			case tc.error != "":
				if err == nil || !strings.Contains(err.Error(), tc.error) {
					t.Fatalf("Parse = %v, %v, %v; want an error about %q", s, ok, err, tc.error)
				}
			case err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.want == "" && ok:
				t.Fatalf("Parse = %v, want none", s)
			case tc.want != "" && (!ok || s.String() != tc.want):
				t.Fatalf("Parse = %v, %v; want %q", s, ok, tc.want)
			}
		})
	}
	// Without kiosk.tz the location given is used.
	s, _, _ := schedule.Parse(attrs(schedule.AttrOn, "07:30"), zagreb)
	if s.Location != zagreb {
		t.Errorf("location %v, want Europe/Zagreb", s.Location)
	}
}

func TestPlannedAt(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	ny := mustLoad(t, "America/New_York")
	hm := func(s string) schedule.Daytime {
		d, err := schedule.ParseDaytime(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		name    string
		date    string
		at      string
		loc     *time.Location
		wantUTC string
	}{
		{"berlin winter", "2026-01-15", "07:30", berlin, "2026-01-15T06:30:00Z"},
		{"berlin summer", "2026-07-15", "07:30", berlin, "2026-07-15T05:30:00Z"},
		{"berlin spring forward, after the gap", "2026-03-29", "07:30", berlin, "2026-03-29T05:30:00Z"},
		{"berlin spring forward, in the gap", "2026-03-29", "02:30", berlin, "2026-03-29T01:30:00Z"}, // 03:30 CEST
		{"berlin fall back, twice", "2026-10-25", "02:30", berlin, "2026-10-25T00:30:00Z"},           // 02:30 CEST, the first
		{"berlin fall back, after", "2026-10-25", "07:30", berlin, "2026-10-25T06:30:00Z"},
		{"new york spring forward, in the gap", "2026-03-08", "02:30", ny, "2026-03-08T07:30:00Z"}, // 03:30 EDT
		{"new york fall back, twice", "2026-11-01", "01:30", ny, "2026-11-01T05:30:00Z"},           // 01:30 EDT, the first
		{"utc", "2026-03-29", "02:30", time.UTC, "2026-03-29T02:30:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := time.Parse("2006-01-02", tc.date)
			if err != nil {
				t.Fatal(err)
			}
			got := schedule.PlannedAt(d.Year(), d.Month(), d.Day(), hm(tc.at), tc.loc)
			if got.UTC().Format(time.RFC3339) != tc.wantUTC {
				t.Errorf("PlannedAt(%s %s %v) = %v (%v), want %s", tc.date, tc.at, tc.loc, got.UTC(), got, tc.wantUTC)
			}
		})
	}
}

func TestLatestAndNext(t *testing.T) {
	loc := mustLoad(t, "Europe/Zagreb")
	s, _, err := schedule.Parse(attrs(schedule.AttrOn, "07:30", schedule.AttrOff, "20:30", schedule.AttrDays, "mon-fri"), loc)
	if err != nil {
		t.Fatal(err)
	}
	at := func(v string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", v, loc)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	// 2026-11-27 is a Friday.
	for _, tc := range []struct {
		now, last, lastAction, nextOn, nextOff string
	}{
		{"2026-11-27 07:29", "2026-11-26 20:30", "off", "2026-11-27 07:30", "2026-11-27 20:30"},
		{"2026-11-27 07:30", "2026-11-27 07:30", "on", "2026-11-30 07:30", "2026-11-27 20:30"},
		{"2026-11-27 21:00", "2026-11-27 20:30", "off", "2026-11-30 07:30", "2026-11-30 20:30"},
		{"2026-11-29 12:00", "2026-11-27 20:30", "off", "2026-11-30 07:30", "2026-11-30 20:30"}, // Sunday
		{"2026-11-30 07:31", "2026-11-30 07:30", "on", "2026-12-01 07:30", "2026-11-30 20:30"},
	} {
		now := at(tc.now)
		sl, ok := s.Last(now)
		if !ok || !sl.Planned.Equal(at(tc.last)) || string(sl.Action) != tc.lastAction {
			t.Errorf("at %s: Last = %v %v, want %s %s", tc.now, sl, ok, tc.lastAction, tc.last)
		}
		if on, _ := s.Next(schedule.On, now); !on.Equal(at(tc.nextOn)) {
			t.Errorf("at %s: next on %v, want %s", tc.now, on, tc.nextOn)
		}
		if off, _ := s.Next(schedule.Off, now); !off.Equal(at(tc.nextOff)) {
			t.Errorf("at %s: next off %v, want %s", tc.now, off, tc.nextOff)
		}
	}
	// Latest bounds the span on both sides.
	if sl, ok := s.Latest(at("2026-11-27 07:30"), at("2026-11-27 20:29")); ok {
		t.Errorf("Latest of (07:30, 20:29] = %v, want none", sl)
	}
	if sl, ok := s.Latest(at("2026-11-27 07:29"), at("2026-11-27 20:29")); !ok || sl.Action != schedule.On {
		t.Errorf("Latest of (07:29, 20:29] = %v %v, want the 07:30 on", sl, ok)
	}
}
