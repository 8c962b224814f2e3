package web

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Modes of the audit search.
const (
	modeEvents = "events"
	modeCount  = "count"
	modeAvg    = "avg"
)

// searchQuery is an audit search as the /audit page and /api/audit/*
// take it.
type searchQuery struct {
	Mode   string
	Filter audit.Filter
	Where  []match
	By     []string
	Field  string
	Cursor string
	Limit  int
}

// Limits of the audit search.
const (
	defaultEvents = 50
	maxEvents     = 500
	// maxScan bounds the documents read to fill a page of events that
	// must match "where" conditions.
	maxScan = 10000
)

// parseSearch reads an audit search; mode "" means events, or the mode
// of the API route.
func parseSearch(v url.Values, mode string, now time.Time, loc *time.Location) (searchQuery, error) {
	q := searchQuery{Mode: mode}
	var err error
	if q.Mode == "" {
		if q.Mode, err = param(v, "mode"); err != nil {
			return q, err
		}
	}
	switch q.Mode {
	case "":
		q.Mode = modeEvents
	case modeEvents, modeCount, modeAvg:
	default:
		return q, errorStatus(http.StatusBadRequest, "web: unknown mode %q: want events, count or avg", clip(q.Mode, 32))
	}
	if q.Filter, err = parseFilter(v, now, loc); err != nil {
		return q, err
	}
	switch q.Mode {
	case modeEvents:
		if q.Where, err = parseWhere(v); err != nil {
			return q, err
		}
		if q.Cursor, err = param(v, "cursor"); err != nil {
			return q, err
		}
		if q.Cursor != "" {
			if _, err := audit.ParseCursor(q.Cursor); err != nil {
				return q, errorStatus(http.StatusBadRequest, "web: %v", err)
			}
		}
		if q.Limit, err = parseInt(v, "limit", defaultEvents, 1, maxEvents); err != nil {
			return q, err
		}
	case modeAvg:
		if q.Field, err = param(v, "field"); err != nil {
			return q, err
		}
		sq := audit.StatsQuery{Field: q.Field, By: []string{audit.FieldIP}}
		if err := sq.Validate(); err != nil {
			return q, errorStatus(http.StatusBadRequest, "web: parameter field: %v", err)
		}
		fallthrough
	case modeCount:
		if q.By, err = parseBy(v); err != nil {
			return q, err
		}
	}
	return q, nil
}

// searchEvents returns one page of documents of q, reading further pages
// when conditions on the entries leave it short.
func (h *Handler) searchEvents(ctx context.Context, q searchQuery) (audit.Page, error) {
	eq := audit.EventsQuery{Filter: q.Filter, Limit: q.Limit, Cursor: q.Cursor}
	if len(q.Where) == 0 {
		return h.Audit.Events(ctx, eq)
	}
	var out audit.Page
	eq.Limit = maxEvents
	for scanned := 0; scanned < maxScan; {
		p, err := h.Audit.Events(ctx, eq)
		if err != nil {
			return out, err
		}
		for _, d := range p.Documents {
			scanned++
			if !matches(d, q.Where) {
				continue
			}
			out.Documents = append(out.Documents, d)
			if len(out.Documents) == q.Limit {
				out.Next = audit.Cursor{Time: d.Time, ID: d.ID}.String()
				return out, nil
			}
		}
		if p.Next == "" {
			return out, nil
		}
		out.Next, eq.Cursor = p.Next, p.Next
	}
	return out, nil
}

// groupRow is one row of a count or average.
type groupRow struct {
	Key   []string `json:"key"`
	Count int64    `json:"count"`
	Sum   float64  `json:"sum,omitempty"`
	Avg   float64  `json:"avg,omitempty"`
}

func (h *Handler) searchGroups(ctx context.Context, q searchQuery) ([]groupRow, error) {
	var gs []audit.Group
	var err error
	if q.Mode == modeAvg {
		gs, err = h.Audit.Stats(ctx, audit.StatsQuery{Filter: q.Filter, Field: q.Field, By: q.By})
	} else {
		gs, err = h.Audit.Count(ctx, audit.CountQuery{Filter: q.Filter, By: q.By})
	}
	if err != nil {
		return nil, err
	}
	rows := make([]groupRow, len(gs))
	for i, g := range gs {
		rows[i] = groupRow{Key: g.Key, Count: g.Count}
		if q.Mode == modeAvg {
			rows[i].Sum, rows[i].Avg = g.Sum, g.Avg()
		}
	}
	return rows, nil
}

// topRows returns at most n rows with the largest values, for a chart.
func topRows(rows []groupRow, n int, avg bool) []groupRow {
	rows = slices.Clone(rows)
	val := func(r groupRow) float64 {
		if avg {
			return r.Avg
		}
		return float64(r.Count)
	}
	slices.SortStableFunc(rows, func(a, b groupRow) int { return cmp.Compare(val(b), val(a)) })
	return rows[:min(n, len(rows))]
}

// redactor replaces the secret values of the store's machines in what
// the audit returns: secrets never reach the audit, and if one did, it
// would still not reach a page. Values shorter than 4 bytes are left
// alone, as they would garble every line.
type redactor struct{ r *strings.Replacer }

func (h *Handler) redactor(ctx context.Context) redactor {
	ms, err := h.Store.List(ctx)
	if err != nil {
		return redactor{}
	}
	return redactorOf(ms)
}

// redactorOf returns the redactor of the secrets of ms.
func redactorOf(ms []pxelator.Machine) redactor {
	var secrets []string
	for _, m := range ms {
		for _, k := range m.Keys() {
			if a, _ := m.Attr(k); a.Secret && len(a.Value) >= 4 {
				secrets = append(secrets, a.Value)
			}
		}
	}
	if len(secrets) == 0 {
		return redactor{}
	}
	// Longer secrets first, so that one holding another is replaced whole.
	slices.SortFunc(secrets, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	secrets = slices.Compact(secrets)
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, "[secret]")
	}
	return redactor{strings.NewReplacer(pairs...)}
}

func (r redactor) str(s string) string {
	if r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// docs returns copies of ds with secrets replaced.
func (r redactor) docs(ds []audit.Document) []audit.Document {
	if r.r == nil {
		return ds
	}
	out := make([]audit.Document, len(ds))
	for i, d := range ds {
		d.Hostname = r.str(d.Hostname)
		es := make([]audit.Entry, len(d.Entries))
		for j, e := range d.Entries {
			e.Action = r.str(e.Action)
			if e.Fields != nil {
				e.Fields = r.value(e.Fields).(map[string]any)
			}
			es[j] = e
		}
		d.Entries = es
		out[i] = d
	}
	return out
}

func (r redactor) value(v any) any {
	switch v := v.(type) {
	case string:
		return r.str(v)
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[r.str(k)] = r.value(x)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, x := range v {
			s[i] = r.value(x)
		}
		return s
	}
	return v
}
