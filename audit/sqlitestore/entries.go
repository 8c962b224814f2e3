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
