package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// maxParam bounds the length of one query parameter.
const maxParam = 256

// param returns the query parameter key, or an error when it is too long.
func param(v url.Values, key string) (string, error) {
	s := strings.TrimSpace(v.Get(key))
	if len(s) > maxParam {
		return "", errorStatus(http.StatusBadRequest, "web: parameter %s: longer than %d bytes", key, maxParam)
	}
	return s, nil
}

// parseInt parses a parameter in [lo, hi]; def when it is empty.
func parseInt(v url.Values, key string, def, lo, hi int) (int, error) {
	s, err := param(v, key)
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, errorStatus(http.StatusBadRequest, "web: parameter %s: want a number from %d to %d, not %q", key, lo, hi, clip(s, 32))
	}
	return n, nil
}

// parseListQuery reads the overview's query: q (words to match), sort
// (a column, "-" before it for descending), page and per.
func parseListQuery(v url.Values) (listQuery, error) {
	var q listQuery
	var err error
	if q.Text, err = param(v, "q"); err != nil {
		return q, err
	}
	s, err := param(v, "sort")
	if err != nil {
		return q, err
	}
	if s == "" {
		s = sortIP
	}
	q.Sort, q.Desc = strings.CutPrefix(s, "-")
	if !validSort(q.Sort) {
		return q, errorStatus(http.StatusBadRequest, "web: cannot sort by %q: want ip, mac, hostname, profile, netboot, status or rtt", clip(q.Sort, 32))
	}
	if q.Page, err = parseInt(v, "page", 1, 1, 1<<20); err != nil {
		return q, err
	}
	if q.Per, err = parseInt(v, "per", defaultPer, 1, maxPer); err != nil {
		return q, err
	}
	return q, nil
}

// parseTime reads a time: RFC 3339, a date and time as an HTML
// datetime-local input sends it (2006-01-02T15:04, in loc), a date, or
// a duration before now ("24h", "90m").
func parseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d >= 0 && d < 100*365*24*time.Hour {
		return now.Add(-d), nil
	}
	return time.Time{}, errorStatus(http.StatusBadRequest, "web: bad time %q: want 2006-01-02T15:04, RFC 3339 or a duration before now such as 24h", clip(s, 40))
}

// parseFilter reads an audit filter: machine, package, since, until.
func parseFilter(v url.Values, now time.Time, loc *time.Location) (audit.Filter, error) {
	var f audit.Filter
	var err error
	if f.Machine, err = param(v, "machine"); err != nil {
		return f, err
	}
	if f.Package, err = param(v, "package"); err != nil {
		return f, err
	}
	for _, t := range []struct {
		key string
		to  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		s, err := param(v, t.key)
		if err != nil {
			return f, err
		}
		if *t.to, err = parseTime(s, now, loc); err != nil {
			return f, err
		}
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, errorStatus(http.StatusBadRequest, "web: since must be before until")
	}
	return f, nil
}

// parseBy reads the group fields of a count or average: one or two
// names separated by a comma.
func parseBy(v url.Values) ([]string, error) {
	s, err := param(v, "by")
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, errorStatus(http.StatusBadRequest, "web: parameter by: give one or two fields, such as ip,state")
	}
	by := strings.Split(s, ",")
	for i := range by {
		by[i] = strings.TrimSpace(by[i])
	}
	if err := audit.CheckBy(by); err != nil {
		return nil, errorStatus(http.StatusBadRequest, "web: parameter by: %v", err)
	}
	return by, nil
}

// match is one condition on the entries of documents: field = value.
type match struct{ field, value string }

// parseWhere reads conditions on entry fields, "file=vmlinuz
// outcome=ok": the events shown have an entry whose fields (or action)
// have those values, as audit.FormatValue prints them.
func parseWhere(v url.Values) ([]match, error) {
	s, err := param(v, "where")
	if err != nil {
		return nil, err
	}
	var ms []match
	for w := range strings.FieldsSeq(s) {
		k, val, ok := strings.Cut(w, "=")
		if !ok {
			return nil, errorStatus(http.StatusBadRequest, "web: parameter where: %q is not field=value", clip(w, 40))
		}
		if err := audit.CheckField(k); err != nil {
			return nil, errorStatus(http.StatusBadRequest, "web: parameter where: %v", err)
		}
		ms = append(ms, match{k, val})
		if len(ms) > 8 {
			return nil, errorStatus(http.StatusBadRequest, "web: parameter where: at most 8 conditions")
		}
	}
	return ms, nil
}

// matches reports whether d has an entry that meets every condition.
func matches(d audit.Document, ms []match) bool {
	if len(ms) == 0 {
		return true
	}
	for _, e := range d.Entries {
		ok := true
		for _, m := range ms {
			var got string
			switch m.field {
			case audit.FieldAction:
				got = e.Action
			case audit.FieldPackage:
				got = d.Package
			case audit.FieldIP:
				got = d.IP
			case audit.FieldMAC:
				got = d.MAC
			case audit.FieldHostname:
				got = d.Hostname
			default:
				got = audit.FormatValue(e.Fields[m.field])
			}
			if got != m.value {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
