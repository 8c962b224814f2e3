package audit

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Limits that [Sanitizer] enforces, so that a document fits every backend
// (MongoDB takes at most 16 MiB per document).
const (
	// MaxStringBytes is the longest string kept; longer ones are cut and
	// end in "…".
	MaxStringBytes = 64 << 10
	// MaxDocumentBytes is the largest document (roughly, as JSON) stored;
	// larger ones are split into parts.
	MaxDocumentBytes = 8 << 20
	// maxDepth bounds nested fields; deeper values are stored as text.
	maxDepth = 16
)

// PartSeparator separates a document's id from the number of a part when
// the document is split: part 2 of 2026-11-24.10:00:01.syslogd.10.0.0.11
// is 2026-11-24.10:00:01.syslogd.10.0.0.11#2.
const PartSeparator = "#"

// Sanitizer makes documents safe for every backend and counts, by reason,
// what it had to change, split or reject. Backends run every document
// through it, so that the same bad input gives the same stored document
// everywhere. The zero value is ready to use; it is safe for concurrent
// use.
type Sanitizer struct {
	utf8, keys, truncated, unencodable, split, rejected atomic.Uint64
}

// SanitizeCounts counts the documents a [Sanitizer] changed, split or
// rejected, by reason.
type SanitizeCounts struct {
	InvalidUTF8 uint64 // strings with invalid UTF-8, stored with U+FFFD
	Keys        uint64 // field names with '.', a leading '$', or empty, renamed
	Truncated   uint64 // strings longer than MaxStringBytes, cut
	Unencodable uint64 // values with no JSON form, stored as text
	Split       uint64 // documents larger than MaxDocumentBytes, stored in parts
	// Rejected counts documents without id, and entries larger than
	// MaxDocumentBytes by themselves (the rest of their document is
	// stored).
	Rejected uint64
}

// Counts returns the counters.
func (s *Sanitizer) Counts() SanitizeCounts {
	return SanitizeCounts{
		InvalidUTF8: s.utf8.Load(),
		Keys:        s.keys.Load(),
		Truncated:   s.truncated.Load(),
		Unencodable: s.unencodable.Load(),
		Split:       s.split.Load(),
		Rejected:    s.rejected.Load(),
	}
}

type fixes uint8

const (
	fixUTF8 fixes = 1 << iota
	fixKey
	fixTruncated
	fixUnencodable
)

// Documents returns d made safe for every backend: strings are valid
// UTF-8 of at most MaxStringBytes, field names have no '.' and no
// leading '$' (both become '_'), and field values are JSON values (nil,
// bool, float64, string, []any, map[string]any): numbers become float64,
// other types their JSON form (time.Time an RFC 3339 string, a
// netip.Addr its text), and values without one their fmt text.
//
// A document larger than MaxDocumentBytes is not lost: it is returned in
// parts, in the order of its entries, each of at most MaxDocumentBytes;
// the first keeps d's id, the others have the id followed by
// PartSeparator and their number, and each has the time of its first
// entry. An entry larger than MaxDocumentBytes by itself is left out and
// counted as rejected. Documents returns an error, and counts the
// document as rejected, when d has no id.
func (s *Sanitizer) Documents(d Document) ([]Document, error) {
	var f fixes
	size := 0
	str := func(v string) string {
		v, fx := cleanString(v)
		f |= fx
		size += len(v) + 8
		return v
	}
	head := Document{
		ID:       str(d.ID),
		Time:     d.Time,
		Package:  str(d.Package),
		IP:       str(d.IP),
		MAC:      str(d.MAC),
		Hostname: str(d.Hostname),
	}
	if head.ID == "" {
		s.count(f)
		s.rejected.Add(1)
		return nil, errorf("document without id")
	}
	headSize := size
	parts := []Document{head}
	parts[0].Entries = make([]Entry, 0, len(d.Entries))
	partSize := headSize // of the last part
	for _, e := range d.Entries {
		size = 48
		out := Entry{Time: e.Time, Action: str(e.Action)}
		if len(e.Fields) > 0 {
			m, fx, n := cleanMap(e.Fields, 0)
			f |= fx
			size += n
			out.Fields = m
		}
		if headSize+size > MaxDocumentBytes {
			s.rejected.Add(1)
			continue
		}
		last := &parts[len(parts)-1]
		if len(last.Entries) > 0 && partSize+size > MaxDocumentBytes {
			next := head
			next.ID = head.ID + PartSeparator + strconv.Itoa(len(parts)+1)
			next.Time = e.Time
			parts = append(parts, next)
			last, partSize = &parts[len(parts)-1], headSize
		}
		last.Entries = append(last.Entries, out)
		partSize += size
	}
	s.count(f)
	if len(parts) > 1 {
		s.split.Add(1)
	}
	return parts, nil
}

func (s *Sanitizer) count(f fixes) {
	if f&fixUTF8 != 0 {
		s.utf8.Add(1)
	}
	if f&fixKey != 0 {
		s.keys.Add(1)
	}
	if f&fixTruncated != 0 {
		s.truncated.Add(1)
	}
	if f&fixUnencodable != 0 {
		s.unencodable.Add(1)
	}
}

func cleanString(v string) (string, fixes) {
	var f fixes
	if !utf8.ValidString(v) {
		v = strings.ToValidUTF8(v, "\uFFFD")
		f |= fixUTF8
	}
	if len(v) > MaxStringBytes {
		cut := MaxStringBytes
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "…"
		f |= fixTruncated
	}
	return v, f
}

func cleanKey(k string) (string, fixes) {
	k, f := cleanString(k)
	if k == "" {
		return "_", f | fixKey
	}
	if strings.HasPrefix(k, "$") || strings.Contains(k, ".") {
		k = strings.ReplaceAll(k, ".", "_")
		if k[0] == '$' {
			k = "_" + k[1:]
		}
		f |= fixKey
	}
	return k, f
}

func cleanMap(m map[string]any, depth int) (map[string]any, fixes, int) {
	if size, ok := flatClean(m); ok {
		return m, 0, size
	}
	var f fixes
	size := 0
	out := make(map[string]any, len(m))
	for k, v := range m {
		k, fk := cleanKey(k)
		v, fv, n := cleanValue(v, depth+1)
		f |= fk | fv
		size += len(k) + n
		out[k] = v
	}
	return out, f, size
}

// flatClean returns the size of m, and true when m is clean as it is:
// keys that need no change, and values that are nil, bools, numbers
// JSON can hold and strings that need no change, which is what a
// packet's event has. cleanMap then keeps m rather than copying it.
func flatClean(m map[string]any) (int, bool) {
	size := 0
	for k, v := range m {
		// cleanKey and cleanString change nothing, and allocate nothing,
		// for what is clean.
		if _, f := cleanKey(k); f != 0 {
			return 0, false
		}
		size += len(k)
		switch v := v.(type) {
		case nil:
			size += 4
		case bool:
			size += 5
		case string:
			if _, f := cleanString(v); f != 0 {
				return 0, false
			}
			size += len(v) + 2
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, false
			}
			size += 8
		default:
			return 0, false
		}
	}
	return size, true
}

// cleanValue converts v to a JSON value and returns it with what it
// fixed and its approximate size.
func cleanValue(v any, depth int) (any, fixes, int) {
	if depth > maxDepth {
		// fmt would loop on a map that holds itself: store a marker.
		return "…", fixUnencodable, 3
	}
	switch v := v.(type) {
	case nil:
		return nil, 0, 4
	case bool:
		return v, 0, 5
	case string:
		s, f := cleanString(v)
		return s, f, len(s) + 2
	case float64:
		return cleanFloat(v)
	case float32:
		return cleanFloat(float64(v))
	case int:
		return float64(v), 0, 8
	case int8:
		return float64(v), 0, 8
	case int16:
		return float64(v), 0, 8
	case int32:
		return float64(v), 0, 8
	case int64:
		return float64(v), 0, 8
	case uint:
		return float64(v), 0, 8
	case uint8:
		return float64(v), 0, 8
	case uint16:
		return float64(v), 0, 8
	case uint32:
		return float64(v), 0, 8
	case uint64:
		return float64(v), 0, 8
	case time.Duration:
		return float64(v), 0, 8
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano), 0, 32
	case map[string]any:
		return cleanMap(v, depth)
	case []any:
		var f fixes
		size := 0
		out := make([]any, len(v))
		for i, x := range v {
			x, fx, n := cleanValue(x, depth+1)
			f |= fx
			size += n
			out[i] = x
		}
		return out, f, size
	}
	// Anything else: its JSON form, decoded into JSON values.
	b, err := json.Marshal(v)
	if err != nil {
		s, f := cleanString(fmt.Sprint(v))
		return s, f | fixUnencodable, len(s)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		s, f := cleanString(string(b))
		return s, f | fixUnencodable, len(s)
	}
	// Decoded JSON holds only JSON values, but its strings and keys may
	// still be long or hold '.' and '$'.
	return cleanValue(x, depth)
}

// cleanFloat keeps a number; NaN and the infinities, which JSON cannot
// hold, become their text.
func cleanFloat(v float64) (any, fixes, int) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64), fixUnencodable, 8
	}
	return v, 0, 8
}
