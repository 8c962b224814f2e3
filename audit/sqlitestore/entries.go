package sqlitestore

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pxelator/pxelator/audit"
)

// appendEntries appends the JSON array of entries to buf, as
// encoding/json writes it, byte for byte: the values that sanitized
// fields hold (nil, bool, float64, string, map[string]any, []any) are
// written here, without reflection, and anything else by encoding/json.
func appendEntries(buf []byte, entries []audit.Entry) ([]byte, error) {
	buf = append(buf, '[')
	for i, e := range entries {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"time":"`...)
		buf = e.Time.UTC().AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, `","action":`...)
		buf = appendString(buf, e.Action)
		if len(e.Fields) > 0 {
			var err error
			buf = append(buf, `,"fields":`...)
			if buf, err = appendValue(buf, e.Fields); err != nil {
				return nil, err
			}
		}
		buf = append(buf, '}')
	}
	return append(buf, ']'), nil
}

// appendValue appends the JSON of v as json.Marshal writes it.
func appendValue(buf []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		return strconv.AppendBool(buf, v), nil
	case string:
		return appendString(buf, v), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			break // encoding/json's error
		}
		// encoding/json's format: %f, or %e for the very small and
		// large, with a one-digit negative exponent.
		f := byte('f')
		if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
			f = 'e'
		}
		buf = strconv.AppendFloat(buf, v, f, -1, 64)
		if n := len(buf); f == 'e' && n >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
		return buf, nil
	case map[string]any:
		if v == nil {
			return append(buf, "null"...), nil
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		buf = append(buf, '{')
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(appendString(buf, k), ':')
			var err error
			if buf, err = appendValue(buf, v[k]); err != nil {
				return nil, err
			}
		}
		return append(buf, '}'), nil
	case []any:
		if v == nil {
			return append(buf, "null"...), nil
		}
		buf = append(buf, '[')
		for i, x := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendValue(buf, x); err != nil {
				return nil, err
			}
		}
		return append(buf, ']'), nil
	}
	b, err := json.Marshal(v)
	return append(buf, b...), err
}

// appendString appends s as a JSON string as encoding/json writes it:
// with <, > and & escaped for HTML, invalid UTF-8 as U+FFFD, and U+2028
// and U+2029 escaped.
func appendString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= ' ' && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\b':
				buf = append(buf, '\\', 'b')
			case '\f':
				buf = append(buf, '\\', 'f')
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// Grouped queries read the entries column in Go: SQLite's JSON functions
// cost about a microsecond for every entry (json_each, then a path per
// field), which made "average per IP over 1M events" take seconds. The
// entries are JSON that appendEntries wrote; walkEntries reads the few
// values a query needs without decoding the rest.

var errSyntax = errors.New("sqlitestore: entries: bad JSON")

// walkEntries calls fn for each entry of the JSON array data with the raw
// JSON of its action and of the fields named in names (nil when missing).
// vals is scratch space of len(names), passed to fn.
func walkEntries(data []byte, names []string, vals [][]byte, fn func(action []byte, fields [][]byte)) error {
	return eachEntry(data, func(action, fields []byte) error {
		clear(vals)
		err := eachField(fields, func(k, v []byte) {
			for j, n := range names {
				if len(k) == len(n)+2 && string(k[1:len(k)-1]) == n {
					vals[j] = v
				}
			}
		})
		if err != nil {
			return err
		}
		fn(action, vals)
		return nil
	})
}

// eachEntry calls fn for each entry of the JSON array data with the raw
// JSON of its action and of its fields object (the last "fields", as in
// encoding/json; nil when missing), and returns fn's first error.
func eachEntry(data []byte, fn func(action, fields []byte) error) error {
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
		var action, fields []byte
		it := objIter{data: data, i: i}
		for {
			key, val, ok, err := it.next()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			switch string(key) {
			case `"action"`:
				action = val
			case `"fields"`:
				fields = val
			}
		}
		if err := fn(action, fields); err != nil {
			return err
		}
		i = ws(data, it.i)
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

// eachField calls fn with the raw (quoted) key and raw value of each
// member of the JSON object fields; anything but an object has none.
func eachField(fields []byte, fn func(key, val []byte)) error {
	if len(fields) == 0 || fields[0] != '{' {
		return nil
	}
	it := objIter{data: fields}
	for {
		k, v, ok, err := it.next()
		if err != nil || !ok {
			return err
		}
		fn(k, v)
	}
}

// objIter iterates over the members of the object at data[i]; after the
// last one, i is the index after the object.
type objIter struct {
	data    []byte
	i       int
	started bool
}

// next returns the raw key (quoted) and raw value of the next member,
// and false after the last.
func (it *objIter) next() (key, val []byte, ok bool, err error) {
	data, i := it.data, it.i
	if !it.started {
		it.started = true
		if i >= len(data) || data[i] != '{' {
			return nil, nil, false, errSyntax
		}
		i = ws(data, i+1)
		if i < len(data) && data[i] == '}' {
			it.i = i + 1
			return nil, nil, false, nil
		}
	} else {
		i = ws(data, i)
		if i >= len(data) {
			return nil, nil, false, errSyntax
		}
		switch data[i] {
		case '}':
			it.i = i + 1
			return nil, nil, false, nil
		case ',':
			i = ws(data, i+1)
		default:
			return nil, nil, false, errSyntax
		}
	}
	kEnd, err := skipString(data, i)
	if err != nil {
		return nil, nil, false, err
	}
	key = data[i:kEnd]
	i = ws(data, kEnd)
	if i >= len(data) || data[i] != ':' {
		return nil, nil, false, errSyntax
	}
	i = ws(data, i+1)
	vEnd, err := skipValue(data, i, 0)
	if err != nil {
		return nil, nil, false, err
	}
	it.i = vEnd
	return key, data[i:vEnd], true, nil
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
		it := objIter{data: data, i: i}
		for {
			_, _, ok, err := it.next()
			if err != nil {
				return 0, err
			}
			if !ok {
				return it.i, nil
			}
		}
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
