package sqlitestore

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/pxelator/pxelator/audit"
)

// Grouped queries read the entries column in Go: SQLite's JSON functions
// cost about a microsecond for every entry (json_each, then a path per
// field), which made "average per IP over 1M events" take seconds. The
// entries are JSON that appendEntries wrote; walkEntries reads the few
// values a query needs without decoding the rest.

var errSyntax = errors.New("sqlitestore: entries: bad JSON")

// walkEntries calls fn for each entry of the JSON array data with the raw
// JSON of its action and of the fields named in names (nil when missing).
func walkEntries(data []byte, names []string, fn func(action []byte, fields [][]byte)) error {
	vals := make([][]byte, len(names))
	i := ws(data, 0)
	if i >= len(data) || data[i] != '[' {
		return errSyntax
	}
	i = ws(data, i+1)
	if i < len(data) && data[i] == ']' {
		return nil
	}
	for {
		if i >= len(data) || data[i] != '{' {
			return errSyntax
		}
		clear(vals)
		var action []byte
		end, err := walkObject(data, i, func(key, val []byte) error {
			switch string(key) {
			case `"action"`:
				action = val
			case `"fields"`:
				clear(vals) // the last "fields" counts, as in encoding/json
				if len(val) == 0 || val[0] != '{' {
					return nil
				}
				_, err := walkObject(val, 0, func(k, v []byte) error {
					for j, n := range names {
						if len(k) == len(n)+2 && string(k[1:len(k)-1]) == n {
							vals[j] = v
						}
					}
					return nil
				})
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
		fn(action, vals)
		i = ws(data, end)
		if i >= len(data) {
			return errSyntax
		}
		switch data[i] {
		case ']':
			return nil
		case ',':
			i = ws(data, i+1)
		default:
			return errSyntax
		}
	}
}

// walkObject calls fn with the raw key (quoted) and raw value of each
// member of the object at data[i], and returns the index after it.
func walkObject(data []byte, i int, fn func(key, val []byte) error) (int, error) {
	i = ws(data, i+1)
	if i < len(data) && data[i] == '}' {
		return i + 1, nil
	}
	for {
		kEnd, err := skipString(data, i)
		if err != nil {
			return 0, err
		}
		key := data[i:kEnd]
		i = ws(data, kEnd)
		if i >= len(data) || data[i] != ':' {
			return 0, errSyntax
		}
		i = ws(data, i+1)
		vEnd, err := skipValue(data, i, 0)
		if err != nil {
			return 0, err
		}
		if err := fn(key, data[i:vEnd]); err != nil {
			return 0, err
		}
		i = ws(data, vEnd)
		if i >= len(data) {
			return 0, errSyntax
		}
		switch data[i] {
		case '}':
			return i + 1, nil
		case ',':
			i = ws(data, i+1)
		default:
			return 0, errSyntax
		}
	}
}

func ws(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string at data[i].
func skipString(data []byte, i int) (int, error) {
	if i >= len(data) || data[i] != '"' {
		return 0, errSyntax
	}
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, errSyntax
}

// skipValue returns the index after the value at data[i].
func skipValue(data []byte, i, depth int) (int, error) {
	if i >= len(data) || depth > 64 {
		return 0, errSyntax
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{':
		return walkObject(data, i, func(_, _ []byte) error { return nil })
	case '[':
		i = ws(data, i+1)
		if i < len(data) && data[i] == ']' {
			return i + 1, nil
		}
		for {
			end, err := skipValue(data, i, depth+1)
			if err != nil {
				return 0, err
			}
			i = ws(data, end)
			if i >= len(data) {
				return 0, errSyntax
			}
			switch data[i] {
			case ']':
				return i + 1, nil
			case ',':
				i = ws(data, i+1)
			default:
				return 0, errSyntax
			}
		}
	}
	// A number, true, false or null.
	j := i
	for j < len(data) {
		c := data[j]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
			break
		}
		j++
	}
	if j == i {
		return 0, errSyntax
	}
	return j, nil
}

// number returns the value of a raw JSON number, and false for anything
// else.
func number(raw []byte) (float64, bool) {
	if len(raw) == 0 || raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// rawKey formats a raw JSON value as a group key, like
// audit.FormatValue of its decoded value.
func rawKey(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		plain := true
		for _, c := range raw[1 : len(raw)-1] {
			if c == '\\' {
				plain = false
				break
			}
		}
		if plain {
			return string(raw[1 : len(raw)-1])
		}
	case 't':
		return "true"
	case 'f':
		return "false"
	case 'n':
		return ""
	}
	if f, ok := number(raw); ok {
		return audit.FormatValue(f)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return string(raw)
	}
	return audit.FormatValue(v)
}
