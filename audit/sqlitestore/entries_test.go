package sqlitestore

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// reference reads what walkEntries reads with encoding/json.
func reference(data []byte, names []string) (actions []string, vals [][]string, ok bool) {
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, nil, false
	}
	for _, e := range entries {
		var a string
		if raw, ok := e["action"]; ok {
			a = rawKey(raw)
		}
		actions = append(actions, a)
		var fields map[string]json.RawMessage
		json.Unmarshal(e["fields"], &fields)
		var vs []string
		for _, n := range names {
			vs = append(vs, rawKey(fields[n]))
		}
		vals = append(vals, vs)
	}
	return actions, vals, true
}

func FuzzWalkEntries(f *testing.F) {
	for _, seed := range []string{
		`[]`,
		`[{"time":"2026-11-24T10:00:00Z","action":"reply","fields":{"rtt":1.5}}]`,
		`[{"action":"power","fields":{"power_state":"on","x":{"rtt":9}}},{"action":"b\"q","fields":{"rtt":"2","s":[1,{"a":"]"}]}}]`,
		`[{"fields":{"rtt":-1e3,"power_state":true}}, {"action":null}]`,
		`[{"action":"x"`, `[{]`, `{"a":1}`, `[1,2]`, `[{"fields":[1]}]`, ` [ { } , { "action" : "\u00e9" } ] `,
	} {
		f.Add([]byte(seed))
	}
	names := []string{"rtt", "power_state"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var actions []string
		var vals [][]string
		err := walkEntries(data, names, make([][]byte, len(names)), func(action []byte, fields [][]byte) {
			actions = append(actions, rawKey(action))
			vs := make([]string, len(fields))
			for i, v := range fields {
				vs[i] = rawKey(v)
			}
			vals = append(vals, vs)
		})
		wantA, wantV, ok := reference(data, names)
		if !ok || err != nil {
			return // walkEntries accepts a little more than JSON, or refuses
		}
		if len(actions) != len(wantA) {
			t.Fatalf("%q: %d entries, want %d", data, len(actions), len(wantA))
		}
		for i := range actions {
			if actions[i] != wantA[i] {
				t.Errorf("%q: entry %d action %q, want %q", data, i, actions[i], wantA[i])
			}
			for j := range names {
				if vals[i][j] != wantV[i][j] {
					t.Errorf("%q: entry %d %s = %q, want %q", data, i, names[j], vals[i][j], wantV[i][j])
				}
			}
		}
	})
}

func TestRawKey(t *testing.T) {
	for raw, want := range map[string]string{
		``: "", `null`: "", `"on"`: "on", `"a\"b"`: `a"b`, `2`: "2", `2.50`: "2.5", `-1e3`: "-1000",
		`true`: "true", `false`: "false", `{"b":1,"a":2}`: `{"a":2,"b":1}`, `[1,"x"]`: `[1,"x"]`,
	} {
		if got := rawKey([]byte(raw)); got != want {
			t.Errorf("rawKey(%s) = %q, want %q", raw, got, want)
		}
		if raw != "" {
			var v any
			json.Unmarshal([]byte(raw), &v)
			if got := audit.FormatValue(v); got != want {
				t.Errorf("FormatValue(%s) = %q, want %q", raw, got, want)
			}
		}
	}
}

// marshalEntries is appendEntries through encoding/json, as it was
// written before it had its own writer.
func marshalEntries(entries []audit.Entry) ([]byte, error) {
	buf := []byte{'['}
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"time":"`...)
		buf = e.Time.UTC().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, `","action":`...)
		b, err := json.Marshal(e.Action)
		if err != nil {
			return nil, err
		}
		buf = append(buf, b...)
		if len(e.Fields) > 0 {
			b, err := json.Marshal(e.Fields)
			if err != nil {
				return nil, err
			}
			buf = append(buf, `,"fields":`...)
			buf = append(buf, b...)
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
}

// FuzzAppendEntries checks that appendEntries writes what encoding/json
// writes, byte for byte: the rollup and the queries read both alike, and
// files written before hold the latter. It checks too that the rollup
// counts a sanitized document (rollup.addDoc, as Insert counts it) as it
// counts the document's JSON (rollup.add, as catching up reads it back).
func FuzzAppendEntries(f *testing.F) {
	f.Add("power", "power_state", "on", 0.25, true)
	f.Add("x", "state", "a\\\"b<>", 1e300, false)
	f.Add("x", "outcome.x", "\xffé", math.Copysign(0, -1), true)
	f.Add("discover", "xid", "0x1234abcd", 1.5, true)
	f.Add("a<b>&\"\\\n\t\b\f\r\x01\x7f", "k\u2028", "\xff\xfe\u2029é", 1e-7, false)
	f.Add("", "", "", 1e21, false)
	f.Add("x", "rtt", "y", -123456789.125, true)
	f.Add("x", "n", "y", math.NaN(), true)
	f.Add("x", "n", "y", 5e-324, false)
	f.Fuzz(func(t *testing.T, action, key, s string, x float64, b bool) {
		fields := map[string]any{
			key: s, "f": x, "b": b, "nil": nil,
			"nested": map[string]any{key: []any{s, x, b, nil, map[string]any{}}, "empty": []any{}},
			"other":  []string{s}, // not a sanitized value: encoding/json writes it
		}
		entries := []audit.Entry{
			{Time: time.Unix(1764000000, 123456789).In(time.FixedZone("x", 3600)), Action: action, Fields: fields},
			{Time: time.Unix(0, 0), Action: s},
		}
		got, err1 := appendEntries(nil, entries)
		want, err2 := marshalEntries(entries)
		if (err1 != nil) != (err2 != nil) {
			t.Fatalf("errors differ: %v, encoding/json %v", err1, err2)
		}
		if err1 == nil && !bytes.Equal(got, want) {
			t.Fatalf("appendEntries:\n%s\nencoding/json:\n%s", got, want)
		}
		fields[key+"2"] = x // a number where grouped may name the field
		var san audit.Sanitizer
		parts, err := san.Documents(audit.Document{ID: "d", Time: entries[0].Time, Package: "p", Entries: entries})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range parts {
			fromDoc, fromJSON := make(rollup), make(rollup)
			fromDoc.addDoc(d, 7)
			buf, err := appendEntries(nil, d.Entries)
			if err != nil {
				t.Fatal(err)
			}
			if err := fromJSON.add(dayOf(d.Time.UnixNano()), 7, buf, 1); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(fromDoc, fromJSON) {
				t.Fatalf("%s: rollup of the document %v, of its JSON %v", buf, fromDoc, fromJSON)
			}
		}
	})
}
