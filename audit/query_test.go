package audit_test

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
)

func TestMachineField(t *testing.T) {
	tests := []struct{ in, field, value string }{
		{"10.0.0.1", "ip", "10.0.0.1"},
		{"fe80::1", "ip", "fe80::1"},
		{"52:54:00:AB:cd:01", "mac", "52:54:00:ab:cd:01"},
		{"52-54-00-ab-cd-01", "mac", "52:54:00:ab:cd:01"},
		{"kiosk-01", "hostname", "kiosk-01"},
		{"", "hostname", ""},
		{`{"$gt":""}`, "hostname", `{"$gt":""}`},
	}
	for _, tt := range tests {
		if f, v := audit.MachineField(tt.in); f != tt.field || v != tt.value {
			t.Errorf("MachineField(%q) = %q, %q; want %q, %q", tt.in, f, v, tt.field, tt.value)
		}
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, ""}, {"on", "on"}, {2.0, "2"}, {2.5, "2.5"}, {int64(7), "7"}, {int32(-3), "-3"}, {7, "7"},
		{true, "true"}, {map[string]any{"b": 1.0, "a": "x"}, `{"a":"x","b":1}`}, {[]any{1.0, "x"}, `[1,"x"]`},
	}
	for _, tt := range tests {
		if got := audit.FormatValue(tt.in); got != tt.want {
			t.Errorf("FormatValue(%#v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckBy(t *testing.T) {
	for _, by := range [][]string{{"ip"}, {"ip", "power_state"}, {"rtt-ms", "A_1"}} {
		if err := audit.CheckBy(by); err != nil {
			t.Errorf("CheckBy(%q): %v", by, err)
		}
	}
	for _, by := range [][]string{nil, {}, {"a", "b", "c"}, {""}, {"a.b"}, {"$x"}, {"a b"}, {"é"}} {
		if err := audit.CheckBy(by); err == nil {
			t.Errorf("CheckBy(%q): no error", by)
		}
	}
}

func TestCursor(t *testing.T) {
	c := audit.Cursor{Time: time.Date(2026, 11, 24, 10, 0, 1, 5, time.UTC), ID: "2026-11-24.10:00:01.ping.10.0.0.1"}
	got, err := audit.ParseCursor(c.String())
	if err != nil || !got.Time.Equal(c.Time) || got.ID != c.ID {
		t.Errorf("ParseCursor(%q) = %+v, %v", c.String(), got, err)
	}
}

func FuzzParseCursor(f *testing.F) {
	f.Add("1795514401200000000/2026-11-24.10:00:01.ping.10.0.0.32")
	f.Add("")
	f.Add("x/y")
	f.Add("-1/a/b")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := audit.ParseCursor(s)
		if err != nil {
			return
		}
		if c2, err := audit.ParseCursor(c.String()); err != nil || !c2.Time.Equal(c.Time) || c2.ID != c.ID {
			t.Errorf("%q: round trip %+v, %v", s, c2, err)
		}
	})
}

func FuzzSanitize(f *testing.F) {
	f.Add("2026-11-24.10:00:01.syslogd.x", "kern", "msg", "hello", 1.5)
	f.Add("", "", "", "", math.NaN())
	f.Add("id\xff", "a\xfe", "$a.b", "\xc3\x28", math.Inf(-1))
	f.Fuzz(func(t *testing.T, id, action, key, val string, num float64) {
		var s audit.Sanitizer
		d := audit.Document{ID: id, Package: val, Hostname: val, Entries: []audit.Entry{{Action: action,
			Fields: map[string]any{key: val, key + "n": num, "m": map[string]any{key: []any{val, num}}}}}}
		parts, err := s.Documents(d)
		if err != nil {
			if id != "" {
				t.Fatalf("Documents(id %q): %v", id, err)
			}
			return
		}
		if len(parts) != 1 {
			t.Fatalf("a small document in %d parts", len(parts))
		}
		out := parts[0]
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("sanitized document does not encode: %v", err)
		}
		var back audit.Document
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		for k := range out.Entries[0].Fields {
			if k == "" || k[0] == '$' || containsDot(k) {
				t.Errorf("key %q left in", k)
			}
		}
	})
}

func containsDot(s string) bool {
	for i := range len(s) {
		if s[i] == '.' {
			return true
		}
	}
	return false
}

func ExampleMergeGroups() {
	// Round-trip times per IP from two stores (or two days): sums and
	// counts add up, and the average follows.
	monday := []audit.Group{{Key: []string{"10.0.0.1"}, Count: 2, Sum: 3}}
	tuesday := []audit.Group{{Key: []string{"10.0.0.1"}, Count: 1, Sum: 6}, {Key: []string{"10.0.0.2"}, Count: 1, Sum: 1}}
	for _, g := range audit.MergeGroups(monday, tuesday) {
		fmt.Println(g.Key[0], g.Count, g.Sum, g.Avg())
	}
	// Output:
	// 10.0.0.1 3 9 3
	// 10.0.0.2 1 1 1
}
