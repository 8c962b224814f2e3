package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// rowsPerStatement is how many rows one INSERT statement carries: fewer
// statements cost less than the driver's per-statement overhead.
const rowsPerStatement = 64

// docCols is the number of columns insertSQL sets.
const docCols = 9

// insertSQL inserts rows documents, leaving out those whose id is stored
// already. (OR IGNORE rather than ON CONFLICT DO NOTHING: SQLite then
// keeps no statement journal.)
func insertSQL(rows int) string {
	return "INSERT OR IGNORE INTO docs(id, time, package, ip, mac, hostname, n, entries, sig) VALUES " + values(rows, docCols)
}

// newest returns the ids of the n documents of the highest rowids: in a
// write transaction, right after an INSERT, those it inserted (SQLite
// gives a new row the highest rowid plus one).
func newest(ctx context.Context, tx *sql.Tx, n int64) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id FROM docs ORDER BY rowid DESC LIMIT ?", n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := make(map[string]bool, n)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// values returns the VALUES list of rows rows of cols parameters.
func values(rows, cols int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+",", rows), ",")
}

// row is a document ready for the docs table.
type row struct {
	d       audit.Document
	entries []byte // the JSON of d.Entries
	sig     int64
}

// Insert stores docs in one transaction; a document whose id is stored
// already gets the new entries appended. A document larger than
// audit.MaxDocumentBytes is stored in parts, and documents that cannot be
// stored are left out, each counted (see [audit.Sanitizer]); an error
// means nothing was stored.
func (s *Store) Insert(ctx context.Context, docs []audit.Document) (err error) {
	if len(docs) == 0 {
		return nil
	}
	rows := make([]row, 0, len(docs))
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
			rows = append(rows, row{d: d, entries: buf})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	s.write.Lock()
	defer s.write.Unlock()
	defer s.dropStashOn(&err)
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: insert: %w", err)
	}
	defer tx.Rollback()
	sigs := sigTx{s: s, tx: tx}
	inserted, err := s.insert(ctx, tx, &sigs, rows, s.stash)
	if err != nil {
		return fmt.Errorf("sqlitestore: insert: %w", err)
	}
	v, err := dataVersion(ctx, tx)
	if err != nil {
		return fmt.Errorf("sqlitestore: insert: %w", err)
	}
	s.checkStash(v)
	// The first Insert after Open catches up too: it counts a tail that
	// a process which stopped left.
	tail := s.tailDocs + inserted
	due := s.due(tail)
	if due {
		if err := s.catchUp(ctx, tx, s.stash, tail); err != nil {
			return fmt.Errorf("sqlitestore: insert: rollup: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: insert: %w", err)
	}
	sigs.committed()
	if due {
		s.caughtUpAt(v)
	} else {
		s.tailDocs = tail
		s.version = v
	}
	return nil
}

// insert writes rows in tx and returns how many it inserted as new
// documents; the others are appended to stored ones. counted, when not
// nil, counts the tail (see Store.stash): insert counts in it the new
// documents and what the appends change in the tail. The rollup counts
// new documents when it catches up; an append to a document it counts
// already changes it here.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, sigs *sigTx, rows []row, counted rollup) (inserted int, err error) {
	args := make([]any, 0, docCols*min(len(rows), rowsPerStatement))
	var stmt []*row
	var conflicts []*row
	// Documents with one id must not share a statement: the second would
	// be taken for a document stored before.
	inStmt := make(map[string]bool, rowsPerStatement)
	keys := make([]sigKey, len(rows))
	for i := range rows {
		keys[i] = keyOf(rows[i].d)
	}
	if err := sigs.make(ctx, keys); err != nil {
		return 0, err
	}
	flush := func() error {
		if len(stmt) == 0 {
			return nil
		}
		st, err := s.stmt(ctx, tx, "docs", len(stmt), insertSQL)
		if err != nil {
			return err
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		var fresh map[string]bool
		if int(n) < len(stmt) {
			// Some ids were stored already. The rows this statement
			// inserted have the highest rowids: the others are appends.
			if fresh, err = newest(ctx, tx, n); err != nil {
				return err
			}
		}
		for _, r := range stmt {
			if fresh != nil && !fresh[r.d.ID] {
				conflicts = append(conflicts, r)
				continue
			}
			inserted++
			if counted != nil {
				counted.addDoc(r.d, r.sig)
			}
		}
		args, stmt = args[:0], stmt[:0]
		clear(inStmt)
		return nil
	}
	for i := range rows {
		r := &rows[i]
		id, err := sigs.id(ctx, keys[i])
		if err != nil {
			return 0, err
		}
		r.sig = id
		if inStmt[r.d.ID] || len(stmt) == rowsPerStatement {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		inStmt[r.d.ID] = true
		stmt = append(stmt, r)
		d := r.d
		args = append(args, d.ID, d.Time.UnixNano(), d.Package,
			nullable(d.IP), nullable(d.MAC), nullable(d.Hostname), len(d.Entries), string(r.entries), r.sig)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if len(conflicts) == 0 {
		return inserted, nil
	}
	upto, err := rolledUpTo(ctx, tx)
	if err != nil {
		return 0, err
	}
	roll := make(rollup)
	for _, r := range conflicts {
		if err := s.appendTo(ctx, tx, sigs, roll, counted, upto, r); err != nil {
			return 0, fmt.Errorf("appending to %s: %w", r.d.ID, err)
		}
	}
	return inserted, s.writeRollup(ctx, tx, roll)
}

// appendTo appends the entries of r to the stored document of its id,
// filling the machine fields that it lacks. The new entries are counted
// in roll when the rollup counts the document (its rowid is upto or
// less), else in counted, the tail's counts, when it is not nil; and
// the document's counts move to its new signature when that changes.
func (s *Store) appendTo(ctx context.Context, tx *sql.Tx, sigs *sigTx, roll, counted rollup, upto int64, r *row) error {
	var rowid, ns, n, sig int64
	var ip, mac, host sql.NullString
	var entries []byte
	err := tx.QueryRowContext(ctx, "SELECT rowid, time, ip, mac, hostname, n, entries, sig FROM docs WHERE id = ?", r.d.ID).
		Scan(&rowid, &ns, &ip, &mac, &host, &n, &entries, &sig)
	if err != nil {
		return err
	}
	merged := audit.Document{Package: r.d.Package, IP: ip.String, MAC: mac.String, Hostname: host.String}
	merged.Time = time.Unix(0, min(ns, r.d.Time.UnixNano()))
	for _, f := range []struct {
		to   *string
		from string
	}{{&merged.IP, r.d.IP}, {&merged.MAC, r.d.MAC}, {&merged.Hostname, r.d.Hostname}} {
		if *f.to == "" {
			*f.to = f.from
		}
	}
	newSig, err := sigs.id(ctx, keyOf(merged))
	if err != nil {
		return err
	}
	all := appendArray(entries, r.entries)
	day, newDay := dayOf(ns), dayOf(merged.Time.UnixNano())
	to := roll
	if rowid > upto {
		// In the tail: the rollup counts it as it is when it catches up.
		to = counted
	}
	switch {
	case to == nil:
	case newSig == sig && newDay == day:
		err = to.add(day, sig, r.entries, 1)
	default:
		if err = to.add(day, sig, entries, -1); err == nil {
			err = to.add(newDay, newSig, all, 1)
		}
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "UPDATE docs SET time = ?, ip = ?, mac = ?, hostname = ?, n = ?, entries = ?, sig = ? WHERE rowid = ?",
		merged.Time.UnixNano(), nullable(merged.IP), nullable(merged.MAC), nullable(merged.Hostname),
		n+int64(len(r.d.Entries)), string(all), newSig, rowid)
	return err
}

// appendArray returns the JSON array of the elements of the arrays a and
// b, as appendEntries writes them.
func appendArray(a, b []byte) []byte {
	switch {
	case len(b) <= 2:
		return a
	case len(a) <= 2:
		return b
	}
	out := make([]byte, 0, len(a)+len(b))
	out = append(out, a[:len(a)-1]...)
	out = append(out, ',')
	return append(out, b[1:]...)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
