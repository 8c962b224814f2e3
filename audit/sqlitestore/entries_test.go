package sqlitestore

import (
	"encoding/json"
	"testing"

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
