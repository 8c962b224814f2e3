package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pxelator/pxelator/audit"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Store is an audit backend in one SQLite file. It implements
// [audit.Backend] and is safe for concurrent use.
type Store struct {
	db      *sql.DB
	san     audit.Sanitizer
	upserts sync.Map // int → string: the upsert statement for n rows
}

var _ audit.Backend = (*Store)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS docs (
	id       TEXT PRIMARY KEY,
	time     INTEGER NOT NULL, -- the first event, Unix nanoseconds
	package  TEXT NOT NULL,
	ip       TEXT,             -- NULL when unknown, like mac and hostname
	mac      TEXT,
	hostname TEXT,
	n        INTEGER NOT NULL, -- len(entries)
	entries  TEXT NOT NULL     -- JSON array of {"time","action","fields"}
);
`

const indexes = `
CREATE INDEX IF NOT EXISTS docs_time     ON docs(time);
CREATE INDEX IF NOT EXISTS docs_package  ON docs(package, time);
CREATE INDEX IF NOT EXISTS docs_ip       ON docs(ip, time)       WHERE ip IS NOT NULL;
CREATE INDEX IF NOT EXISTS docs_mac      ON docs(mac, time)      WHERE mac IS NOT NULL;
CREATE INDEX IF NOT EXISTS docs_hostname ON docs(hostname, time) WHERE hostname IS NOT NULL;
CREATE VIEW IF NOT EXISTS documents AS
	SELECT json_object('_id', id, 'time', strftime('%Y-%m-%dT%H:%M:%fZ', time/1e9, 'unixepoch'),
		'package', json_object('name', package), 'ip', ip, 'mac', mac, 'hostname', hostname,
		'entries', json(entries)) AS doc FROM docs;
`

// Open opens (creating it and its directory if needed) the SQLite file
// at path and creates the table and indexes the queries use.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlitestore: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=cache_size(-262144)&_pragma=wal_autocheckpoint(20000)&_pragma=temp_store(MEMORY)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, schema+indexes); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
	}
	return nil
}

// Sanitized counts the documents that Insert changed or rejected.
func (s *Store) Sanitized() audit.SanitizeCounts { return s.san.Counts() }

// upsert inserts rows documents, appending the entries of those whose id
// is stored already.
func upsert(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO docs(id, time, package, ip, mac, hostname, n, entries) VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(` ON CONFLICT(id) DO UPDATE SET
	time = min(time, excluded.time),
	ip = coalesce(ip, excluded.ip),
	mac = coalesce(mac, excluded.mac),
	hostname = coalesce(hostname, excluded.hostname),
	n = n + excluded.n,
	entries = CASE
		WHEN excluded.n = 0 THEN entries
		WHEN n = 0 THEN excluded.entries
		ELSE substr(entries, 1, length(entries) - 1) || ',' || substr(excluded.entries, 2)
	END`)
	return b.String()
}

// rowsPerStatement is how many documents one INSERT statement carries:
// fewer statements cost less than the driver's per-statement overhead.
const rowsPerStatement = 64

// Insert stores docs in one transaction; a document whose id is stored
// already gets the new entries appended. A document larger than
// audit.MaxDocumentBytes is stored in parts, and documents that cannot be
// stored are left out, each counted (see [audit.Sanitizer]); an error
// means nothing was stored.
func (s *Store) Insert(ctx context.Context, docs []audit.Document) error {
	if len(docs) == 0 {
		return nil
	}
	args := make([]any, 0, 8*min(len(docs), rowsPerStatement))
	// Documents with one id must not share a statement: SQLite would
	// refuse the second row of an id in one INSERT ... ON CONFLICT.
	inStmt := make(map[string]bool, rowsPerStatement)
	var stmts []func(tx *sql.Tx) error
	flush := func() {
		if len(args) == 0 {
			return
		}
		a := args
		stmts = append(stmts, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, s.upsertSQL(len(a)/8), a...)
			return err
		})
		args = make([]any, 0, cap(args))
		clear(inStmt)
	}
	for _, d := range docs {
		parts, err := s.san.Documents(d)
		if err != nil {
			continue // counted by the sanitizer
		}
		for _, d := range parts {
			buf, err := appendEntries(nil, d.Entries)
			if err != nil {
				return fmt.Errorf("sqlitestore: insert %s: %w", d.ID, err)
			}
			if inStmt[d.ID] || len(args) == 8*rowsPerStatement {
				flush()
			}
			inStmt[d.ID] = true
			args = append(args, d.ID, d.Time.UnixNano(), d.Package,
				nullable(d.IP), nullable(d.MAC), nullable(d.Hostname), len(d.Entries), string(buf))
		}
	}
	flush()
	if len(stmts) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: insert: %w", err)
	}
	defer tx.Rollback()
	for _, st := range stmts {
		if err := st(tx); err != nil {
			return fmt.Errorf("sqlitestore: insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: insert: %w", err)
	}
	return nil
}

// upsertSQL returns the statement for n rows, built once per n.
func (s *Store) upsertSQL(n int) string {
	if q, ok := s.upserts.Load(n); ok {
		return q.(string)
	}
	q := upsert(n)
	s.upserts.Store(n, q)
	return q
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// appendEntries appends the JSON array of entries to buf.
func appendEntries(buf []byte, entries []audit.Entry) ([]byte, error) {
	buf = append(buf, '[')
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

// where builds the WHERE clause of f.
func where(f audit.Filter) (string, []any) {
	var conds []string
	var args []any
	if f.Package != "" {
		conds = append(conds, "package = ?")
		args = append(args, f.Package)
	}
	if f.Machine != "" {
		field, value := audit.MachineField(f.Machine)
		conds = append(conds, field+" = ?") // field is one of three constants
		args = append(args, value)
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
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

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

// LastSeen implements [audit.Querier].
func (s *Store) LastSeen(ctx context.Context, machine string) (audit.Seen, error) {
	field, value := audit.MachineField(machine)
	rows, err := s.db.QueryContext(ctx, "SELECT "+docColumns+" FROM docs WHERE "+field+
		" = ? ORDER BY time DESC, id DESC LIMIT 1", value)
	if err != nil {
		return audit.Seen{}, fmt.Errorf("sqlitestore: last seen %q: %w", machine, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return audit.Seen{}, fmt.Errorf("sqlitestore: last seen %q: %w", machine, err)
		}
		return audit.Seen{}, fmt.Errorf("sqlitestore: last seen %q: %w", machine, audit.ErrNotFound)
	}
	d, err := scanDoc(rows)
	if err != nil {
		return audit.Seen{}, fmt.Errorf("sqlitestore: last seen %q: %w", machine, err)
	}
	return audit.SeenIn(d), nil
}

// Events implements [audit.Querier].
func (s *Store) Events(ctx context.Context, q audit.EventsQuery) (audit.Page, error) {
	w, args := where(q.Filter)
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
	rows, err := s.db.QueryContext(ctx, "SELECT "+docColumns+" FROM docs"+w+" ORDER BY time DESC, id DESC LIMIT ?", args...)
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
// grouped by the fields by. SQLite selects the documents through the
// indexes and groups by document fields when it can; the entries are
// read in Go (see walkEntries).
func (s *Store) group(ctx context.Context, f audit.Filter, by []string, sum string) ([]audit.Group, error) {
	w, args := where(f)
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
		return s.query(ctx, len(by), "SELECT "+strings.Join(cols, ", ")+", sum(n) FROM docs"+w+groupBy, args)
	}
	if sum != "" {
		names = append(names, sum)
	}
	if s.mostRows(ctx, f) {
		// Reading the table in order beats an index lookup per row.
		w = strings.Replace(w, "package = ?", "+package = ?", 1)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT "+strings.Join(cols, ", ")+", entries FROM docs"+w, args...)
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

// Prune implements [audit.Pruner]: it deletes the documents older than
// r.MaxAge, then the oldest while the pages in use take more than
// r.MaxBytes, in steps of at most audit.PruneBatch documents, each its
// own transaction. The pages freed are reused; the file does not shrink.
func (s *Store) Prune(ctx context.Context, r audit.Retention) (audit.Pruned, error) {
	var p audit.Pruned
	del := func(query string, args ...any) (int64, error) {
		res, err := s.db.ExecContext(ctx, "DELETE FROM docs WHERE rowid IN (SELECT rowid FROM docs"+query+")", args...)
		if err != nil {
			return 0, fmt.Errorf("sqlitestore: prune: %w", err)
		}
		n, err := res.RowsAffected()
		p.Documents += n
		return n, err
	}
	if r.MaxAge > 0 {
		cutoff := time.Now().Add(-r.MaxAge).UnixNano()
		for {
			n, err := del(" WHERE time < ? LIMIT ?", cutoff, audit.PruneBatch)
			if err != nil {
				return p, err
			}
			if n < audit.PruneBatch {
				break
			}
		}
	}
	used, err := s.used(ctx)
	if err != nil || r.MaxBytes <= 0 || used <= r.MaxBytes {
		p.Bytes = used
		return p, err
	}
	var count int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM docs").Scan(&count); err != nil {
		return p, fmt.Errorf("sqlitestore: prune: %w", err)
	}
	for used > r.MaxBytes && count > 0 {
		n, err := del(" ORDER BY time, id LIMIT ?", audit.PruneCount(count, used, r.MaxBytes))
		if err != nil {
			return p, err
		}
		count -= n
		if used, err = s.used(ctx); err != nil {
			return p, err
		}
	}
	p.Bytes = used
	return p, nil
}

// used returns the bytes of the database's pages in use.
func (s *Store) used(ctx context.Context) (int64, error) {
	var pages, free, size int64
	err := s.db.QueryRowContext(ctx, "SELECT page_count, freelist_count, page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()").Scan(&pages, &free, &size)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: measuring the database: %w", err)
	}
	return (pages - free) * size, nil
}
