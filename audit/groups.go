package audit

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Group is one row of a grouped answer. Counts and sums, not averages,
// are what backends return, so that groups from several stores (or
// several time ranges) merge by adding them.
type Group struct {
	// Key holds the values of the By fields, in order, formatted by
	// [FormatValue] ("" when the field is missing).
	Key   []string
	Count int64   // events in the group (with a numeric Field, for Stats)
	Sum   float64 // the sum of Field (Stats only)
}

// Avg returns Sum/Count, or 0 for an empty group.
func (g Group) Avg() float64 {
	if g.Count == 0 {
		return 0
	}
	return g.Sum / float64(g.Count)
}

// MergeGroups adds up groups with the same key and returns them sorted by
// key, the way results from several backends or time ranges combine.
func MergeGroups(gs ...[]Group) []Group {
	at := make(map[string]int)
	var out []Group
	for _, list := range gs {
		for _, g := range list {
			k := strings.Join(g.Key, "\x00")
			if i, ok := at[k]; ok {
				out[i].Count += g.Count
				out[i].Sum += g.Sum
				continue
			}
			at[k] = len(out)
			out = append(out, Group{Key: slices.Clone(g.Key), Count: g.Count, Sum: g.Sum})
		}
	}
	SortGroups(out)
	return out
}

// SortGroups sorts groups by key, the order every backend returns.
func SortGroups(gs []Group) {
	slices.SortFunc(gs, func(a, b Group) int { return slices.Compare(a.Key, b.Key) })
}

// GroupFunc is the part of [Querier.Count] and [Querier.Stats] that
// differs between backends: it counts the events of the documents that
// match f grouped by the fields by (one or two names, already checked),
// and, when sum is not "", counts only the events whose entry field sum
// is a number and adds those numbers up. Its errors need no prefix.
//
// A backend answers both queries with it:
//
//	func (s *Store) Count(ctx context.Context, q audit.CountQuery) ([]audit.Group, error) {
//		return audit.GroupFunc(s.group).Count(ctx, "mystore", q)
//	}
type GroupFunc func(ctx context.Context, f Filter, by []string, sum string) ([]Group, error)

// Count answers q with fn: it checks q, calls fn without a sum field and
// wraps an error with the backend's name ("mystore: count: ...").
func (fn GroupFunc) Count(ctx context.Context, backend string, q CountQuery) ([]Group, error) {
	return fn.answer(ctx, backend+": count", q.Validate(), q.Filter, q.By, "")
}

// Stats answers q with fn: it checks q, calls fn with q.Field as the sum
// field and wraps an error with the backend's name ("mystore: stats: ...").
func (fn GroupFunc) Stats(ctx context.Context, backend string, q StatsQuery) ([]Group, error) {
	return fn.answer(ctx, backend+": stats", q.Validate(), q.Filter, q.By, q.Field)
}

func (fn GroupFunc) answer(ctx context.Context, op string, invalid error, f Filter, by []string, sum string) ([]Group, error) {
	if invalid != nil {
		return nil, fmt.Errorf("%s: %w", op, invalid)
	}
	gs, err := fn(ctx, f, by, sum)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return gs, nil
}

// Tally adds events up into groups keyed by the values of one or two
// fields, for a [GroupFunc] that counts what its database does not.
type Tally struct {
	fields int
	groups map[[2]string]*Group
}

// NewTally returns an empty tally of groups keyed by the values of
// fields fields (one or two).
func NewTally(fields int) *Tally {
	return &Tally{fields: fields, groups: make(map[[2]string]*Group)}
}

// Add counts n events whose fields have the values key (key[1] is unused
// for one field), and adds sum to the sum of their group.
func (t *Tally) Add(key [2]string, n int64, sum float64) {
	g := t.groups[key]
	if g == nil {
		g = &Group{Key: slices.Clone(key[:t.fields])}
		t.groups[key] = g
	}
	g.Count += n
	g.Sum += sum
}

// Groups returns the groups, in no order. Keys of values of different
// types may format alike ("2" and 2): [MergeGroups] adds those up and
// sorts the groups.
func (t *Tally) Groups() []Group {
	out := make([]Group, 0, len(t.groups))
	for _, g := range t.groups {
		out = append(out, *g)
	}
	return out
}
