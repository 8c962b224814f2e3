package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// where builds the WHERE clause of f over docs, and names the index
// that serves it best: SQLite's planner would read a machine's documents
// through the time index, all 10M of them, to find the few it wants.
func where(f audit.Filter) (from, clause string, args []any) {
	var conds []string
	from = " FROM docs"
	switch {
	case f.Machine != "":
		from = " FROM docs INDEXED BY docs_sig"
		w, wargs := sigWhere(f)
		conds = append(conds, "sig IN (SELECT sig FROM sigs WHERE "+w+")")
		args = append(args, wargs...)
	case f.Package != "":
		from = " FROM docs INDEXED BY docs_package"
		conds = append(conds, "package = ?")
		args = append(args, f.Package)
	}
	if !f.Since.IsZero() {
		conds = append(conds, "time >= ?")
		args = append(args, f.Since.UnixNano())
	}
	if !f.Until.IsZero() {
		conds = append(conds, "time < ?")
		args = append(args, f.Until.UnixNano())
	}
	if len(conds) == 0 {
		return from, "", nil
	}
	return from, " WHERE " + strings.Join(conds, " AND "), args
}

// sigWhere builds the condition on sigs of f's package and machine, ""
// when f names neither.
func sigWhere(f audit.Filter) (string, []any) {
	var conds []string
	var args []any
	if f.Package != "" {
		conds = append(conds, "package = ?")
		args = append(args, f.Package)
	}
	if f.Machine != "" {
		field, value := audit.MachineField(f.Machine)
		conds = append(conds, sigField(field))
		args = append(args, value)
	}
	return strings.Join(conds, " AND "), args
}

// sigMatches reports whether the signature k is one that the condition
// of sigWhere selects.
func sigMatches(f audit.Filter, k sigKey) bool {
	if f.Package != "" && k.pkg != f.Package {
		return false
	}
	if f.Machine != "" {
		field, value := audit.MachineField(f.Machine)
		return k.field(field) == value
	}
	return true
}

// sigField returns the condition that the machine field field (one of
// three constants: ip, mac, hostname) of a signature is a parameter. It
// repeats the condition of the field's partial index, without which
// SQLite cannot tell that the index holds every row asked for, and reads
// all the signatures (50,000 for 10,000 machines: 3 ms).
func sigField(field string) string { return field + " = ? AND " + field + " <> ''" }

const docColumns = "id, time, package, ip, mac, hostname, entries"

func scanDoc(rows *sql.Rows) (audit.Document, error) {
	var d audit.Document
	var ns int64
	var ip, mac, host sql.NullString
	var entries string
	if err := rows.Scan(&d.ID, &ns, &d.Package, &ip, &mac, &host, &entries); err != nil {
		return d, err
	}
	d.Time = time.Unix(0, ns).UTC()
	d.IP, d.MAC, d.Hostname = ip.String, mac.String, host.String
	if err := json.Unmarshal([]byte(entries), &d.Entries); err != nil {
		return d, fmt.Errorf("document %s: entries: %w", d.ID, err)
	}
	for i := range d.Entries {
		d.Entries[i].Time = d.Entries[i].Time.UTC()
	}
	return d, nil
}

// newestOfSig selects the newest document of a signature, and of those of
// that time the greatest id: the time from the end of the signature's
// index, then the document. ("ORDER BY time DESC, id DESC LIMIT 1" read
// every document of the signature to sort them by id: 7 ms for a machine
// of 10M events.)
const newestOfSig = "SELECT " + docColumns + " FROM docs INDEXED BY docs_sig WHERE sig = ?1 AND time = (SELECT max(time) FROM docs INDEXED BY docs_sig WHERE sig = ?1) ORDER BY id DESC LIMIT 1"

// LastSeen implements [audit.Querier]: the newest document of each of
// the machine's signatures (one per package, or a few), through the
// signature index.
func (s *Store) LastSeen(ctx context.Context, machine string) (audit.Seen, error) {
	field, value := audit.MachineField(machine)
	fail := func(err error) (audit.Seen, error) {
		return audit.Seen{}, fmt.Errorf("sqlitestore: last seen %q: %w", machine, err)
	}
	if value == "" {
		return fail(audit.ErrNotFound) // '' in sigs is a field not known
	}
	sigs, err := s.db.QueryContext(ctx, "SELECT sig FROM sigs WHERE "+sigField(field), value)
	if err != nil {
		return fail(err)
	}
	var ids []int64
	for sigs.Next() {
		var id int64
		if err := sigs.Scan(&id); err != nil {
			sigs.Close()
			return fail(err)
		}
		ids = append(ids, id)
	}
	sigs.Close()
	if err := sigs.Err(); err != nil {
		return fail(err)
	}
	var newest *audit.Document
	for _, id := range ids {
		rows, err := s.db.QueryContext(ctx, newestOfSig, id)
		if err != nil {
			return fail(err)
		}
		if rows.Next() {
			d, err := scanDoc(rows)
			if err != nil {
				rows.Close()
				return fail(err)
			}
			if newest == nil || d.Time.After(newest.Time) || d.Time.Equal(newest.Time) && d.ID > newest.ID {
				newest = &d
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fail(err)
		}
	}
	if newest == nil {
		return fail(audit.ErrNotFound)
	}
	return audit.SeenIn(*newest), nil
}

// Events implements [audit.Querier].
func (s *Store) Events(ctx context.Context, q audit.EventsQuery) (audit.Page, error) {
	from, w, args := where(q.Filter)
	if q.Cursor != "" {
		c, err := audit.ParseCursor(q.Cursor)
		if err != nil {
			return audit.Page{}, fmt.Errorf("sqlitestore: events: %w", err)
		}
		if w == "" {
			w = " WHERE "
		} else {
			w += " AND "
		}
		// time <= ? lets the index bound the scan; the rest breaks ties.
		w += "time <= ? AND (time < ? OR id < ?)"
		ns := c.Time.UnixNano()
		args = append(args, ns, ns, c.ID)
	}
	limit := audit.PageLimit(q.Limit)
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, "SELECT "+docColumns+from+w+" ORDER BY time DESC, id DESC LIMIT ?", args...)
	if err != nil {
		return audit.Page{}, fmt.Errorf("sqlitestore: events: %w", err)
	}
	defer rows.Close()
	var docs []audit.Document
	for rows.Next() {
		d, err := scanDoc(rows)
		if err != nil {
			return audit.Page{}, fmt.Errorf("sqlitestore: events: %w", err)
		}
		docs = append(docs, d)
	}
	if err := rows.Err(); err != nil {
		return audit.Page{}, fmt.Errorf("sqlitestore: events: %w", err)
	}
	return audit.NewPage(docs, limit), nil
}

// Count implements [audit.Querier].
func (s *Store) Count(ctx context.Context, q audit.CountQuery) ([]audit.Group, error) {
	return audit.GroupFunc(s.group).Count(ctx, "sqlitestore", q)
}

// Stats implements [audit.Querier].
func (s *Store) Stats(ctx context.Context, q audit.StatsQuery) ([]audit.Group, error) {
	return audit.GroupFunc(s.group).Stats(ctx, "sqlitestore", q)
}

// group counts entries (and sums the numeric entry field sum, when set)
// grouped by the fields by: from the rollup for the whole days of f when
// it holds the counts asked for, and from the entries for the rest.
func (s *Store) group(ctx context.Context, f audit.Filter, by []string, sum string) ([]audit.Group, error) {
	field, ok := rollupField(by, sum)
	if !ok {
		return s.scan(ctx, f, by, sum)
	}
	from, to, edges, ok := wholeDays(f)
	if !ok {
		return s.scan(ctx, f, by, sum)
	}
	parts := make([][]audit.Group, 0, 3)
	g, err := s.fromRollup(ctx, f, from, to, by, field)
	if err != nil {
		return nil, err
	}
	parts = append(parts, g)
	for _, e := range edges {
		g, err := s.scan(ctx, e, by, sum)
		if err != nil {
			return nil, err
		}
		parts = append(parts, g)
	}
	// Keys of different JSON types may format alike ("2" and 2): merge.
	return audit.MergeGroups(parts...), nil
}

// scan counts like group, from the entries: SQLite selects the
// documents through the indexes and groups by document fields when it
// can; the entries are read in Go (see walkEntries).
func (s *Store) scan(ctx context.Context, f audit.Filter, by []string, sum string) ([]audit.Group, error) {
	from, w, args := where(f)
	var cols, names []string
	entryKeys := false
	for _, b := range by {
		switch {
		case audit.IsDocField(b):
			cols = append(cols, b)
		case b == audit.FieldAction:
			cols = append(cols, "NULL")
			entryKeys = true
		default:
			cols = append(cols, "NULL")
			names = append(names, b)
			entryKeys = true
		}
	}
	if sum == "" && !entryKeys {
		// Document fields only: SQLite counts.
		groupBy := " GROUP BY 1"
		if len(by) == 2 {
			groupBy += ", 2"
		}
		return s.query(ctx, len(by), "SELECT "+strings.Join(cols, ", ")+", sum(n)"+from+w+groupBy, args)
	}
	if sum != "" {
		names = append(names, sum)
	}
	if s.mostRows(ctx, f) {
		// Reading the table in order beats an index lookup per row.
		from = " FROM docs NOT INDEXED"
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+", entries"+from+w, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tally := audit.NewTally(len(by))
	ks := make([]sql.RawBytes, len(by))
	var entries sql.RawBytes
	dest := make([]any, 0, len(by)+1)
	for i := range ks {
		dest = append(dest, &ks[i])
	}
	dest = append(dest, &entries)
	// Document keys repeat from row to row: intern them, as map lookups
	// of string(bytes) do not allocate.
	intern := make(map[string]string)
	byDoc := make(map[string]*audit.Group)
	vals := make([][]byte, len(names))
	var key [2]string
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		var rowGroup *audit.Group // the group of every entry of the row
		if len(by) == 1 && audit.IsDocField(by[0]) {
			rowGroup = byDoc[string(ks[0])]
			if rowGroup == nil {
				rowGroup = &audit.Group{Key: []string{string(ks[0])}}
				byDoc[rowGroup.Key[0]] = rowGroup
			}
		}
		for i, b := range by {
			if rowGroup == nil && audit.IsDocField(b) {
				k, ok := intern[string(ks[i])]
				if !ok {
					k = string(ks[i])
					intern[k] = k
				}
				key[i] = k
			}
		}
		err := walkEntries(entries, names, vals, func(action []byte, fields [][]byte) {
			var x float64
			if sum != "" {
				var ok bool
				if x, ok = number(fields[len(fields)-1]); !ok {
					return
				}
			}
			if rowGroup != nil {
				rowGroup.Count++
				rowGroup.Sum += x
				return
			}
			n := 0
			for i, b := range by {
				switch {
				case audit.IsDocField(b):
				case b == audit.FieldAction:
					key[i] = rawKey(action)
				default:
					key[i] = rawKey(fields[n])
					n++
				}
			}
			tally.Add(key, 1, x)
		})
		if err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := tally.Groups()
	for _, g := range byDoc {
		if g.Count > 0 {
			out = append(out, *g)
		}
	}
	// Keys of different JSON types may format alike ("2" and 2): merge.
	return audit.MergeGroups(out), nil
}

// mostRows reports whether f selects by package alone and more than a
// quarter of the documents: SQLite's planner then still takes the
// package index, even with statistics.
func (s *Store) mostRows(ctx context.Context, f audit.Filter) bool {
	if f.Package == "" || f.Machine != "" || !f.Since.IsZero() || !f.Until.IsZero() {
		return false
	}
	var match, total sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT max(rowid) FROM docs").Scan(&total); err != nil || total.Int64 == 0 {
		return false
	}
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM docs WHERE package = ?", f.Package).Scan(&match); err != nil {
		return false
	}
	return match.Int64*4 > total.Int64
}

// query runs a grouped query whose rows are nkeys keys and a count.
func (s *Store) query(ctx context.Context, nkeys int, query string, args []any) ([]audit.Group, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Group
	for rows.Next() {
		ks := make([]sql.NullString, nkeys)
		dest := make([]any, 0, nkeys+1)
		for i := range ks {
			dest = append(dest, &ks[i])
		}
		var g audit.Group
		dest = append(dest, &g.Count)
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		for _, k := range ks {
			g.Key = append(g.Key, k.String)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return audit.MergeGroups(out), nil
}
