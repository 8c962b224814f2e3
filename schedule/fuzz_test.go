package schedule

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

type attrMap map[string]string

func (a attrMap) Get(k string) string { return a[k] }

// FuzzParse feeds schedule attributes as a person, git or the web page
// may write them: never a panic, and what parses prints back the same.
func FuzzParse(f *testing.F) {
	f.Add("07:30", "20:30", "mon-fri", "Europe/Zagreb")
	f.Add("7:30", "", "sat,sun", "")
	f.Add("", "23:59", "fri-mon,wed", "UTC")
	f.Add("24:00", "x", "mon--fri", "../../etc/passwd")
	f.Fuzz(func(t *testing.T, on, off, days, tz string) {
		a := attrMap{AttrOn: on, AttrOff: off, AttrDays: days, AttrTZ: tz}
		s, ok, err := parse(a, time.UTC, func(string) (*time.Location, error) { return time.UTC, nil })
		if err != nil || !ok {
			return
		}
		back := attrMap{AttrDays: s.Days.String()}
		if s.HasOn {
			back[AttrOn] = s.On.String()
		}
		if s.HasOff {
			back[AttrOff] = s.Off.String()
		}
		s2, ok, err := parse(back, time.UTC, nil)
		if err != nil || !ok || s2.On != s.On || s2.Off != s.Off || s2.HasOn != s.HasOn || s2.HasOff != s.HasOff || s2.Days != s.Days {
			t.Fatalf("%q %q %q parse as %v, which prints back as %v (%v)", on, off, days, s, s2, err)
		}
		if sl, ok := s.Last(time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC)); ok && sl.Planned.After(time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC)) {
			t.Fatalf("Last after its time: %v", sl)
		}
	})
}

// FuzzJournal feeds state files cut short by a crash or edited by hand:
// never a panic, and a journal that opens keeps its records.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"mac":"52:54:00:00:00:01","action":"on","planned":"2026-11-27T07:30:00+01:00","outcome":"switched","at":"2026-11-27T07:30:05+01:00"}` + "\n"))
	f.Add([]byte(`{"mac":"52:54:00:00:00:01","act`))
	f.Add([]byte("\n\n{}\n[]\nnull\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "schedule.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		j, err := openJournal(path, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		n := len(j.done)
		j.close()
		j2, err := openJournal(path, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		defer j2.close()
		if len(j2.done) != n || j2.bad != 0 {
			t.Fatalf("reopened: %d records and %d bad lines, want %d and 0", len(j2.done), j2.bad, n)
		}
	})
}
