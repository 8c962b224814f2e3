package sqlitestore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// The rollup table holds, for each day, signature and action: the
// number of entries (field ''), the count and sum of each numeric field
// ('#' and its name) and the count of each value of the fields that
// grouped names (the field's name), so that a grouped query over whole
// days reads a few rows per machine instead of every entry: "the average
// rtt per IP" over 10M events reads 10,000 rows or so.
//
// It counts the documents up to a rowid, the mark in the table rolled;
// the documents after it are the tail. Insert counts the tail into the
// rollup and moves the mark (catchUp) when the tail is maxTail documents
// or maxTailAge old, so that a machine's row is written once for many of
// its documents rather than once for each; a query adds the tail it
// reads in the same transaction, or the stash's counts of it. The
// documents are the truth: a process that stops leaves its tail for the
// next, and two processes writing one file count each document once.
// Insert also counts in memory what it writes (Store.stash), and
// catching up writes those counts instead of reading the tail back while
// no other connection has written; the queries then take them too (see
// stashed), and the tail may grow longer (see due). An append to a
// document, or a deletion, changes the rollup in its transaction when
// the rollup counts the document already.

// The bounds of the tail. At 10,000 documents a second a machine's row
// is written once for its documents of five seconds; a query reads at
// most maxTail documents more. While the stash counts the whole tail,
// the queries take its counts instead of reading the tail, and the tail
// may grow to maxStashed documents or maxStashedAge: the rollup's rows of
// a machine that sends a document every few seconds are then written
// once for many documents, not once for each (catching up wrote about as
// many rows as the documents it counted, and was a fifth of the time of
// storing them). A stash is at most a few rows per signature, action and
// day, however many documents it counts.
const (
	maxTail       = 50000
	maxTailAge    = 5 * time.Second
	maxStashed    = 1000000
	maxStashedAge = time.Minute
)

// due reports whether the rollup should catch up when the tail holds n
// documents: beyond the bounds of a tail that is stashed, or of one that
// is not. The caller holds s.write.
func (s *Store) due(n int) bool {
	most, age := maxTail, maxTailAge
	if s.stash != nil {
		most, age = maxStashed, maxStashedAge
	}
	return n >= most || time.Since(s.caughtUp) >= age
}

// querier is a *sql.DB, a *sql.Conn or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rolledUpTo returns the mark: the rollup counts the documents of rowid
// up to it.
func rolledUpTo(ctx context.Context, q querier) (int64, error) {
	var upto int64
	err := q.QueryRowContext(ctx, "SELECT upto FROM rolled").Scan(&upto)
	return upto, err
}

// tailSpan returns the mark and the highest rowid: the tail is the
// documents of rowids in (upto, last].
func tailSpan(ctx context.Context, q querier) (upto, last int64, err error) {
	err = q.QueryRowContext(ctx, "SELECT upto, (SELECT coalesce(max(rowid), 0) FROM docs) FROM rolled").Scan(&upto, &last)
	return upto, last, err
}

// catchUp counts the tail into the rollup and moves the mark after it,
// in tx. counted, when not nil, counts the n documents that this process
// inserted after the mark (see Store.stash): when they are the whole
// tail, catchUp writes it rather than reading the tail back. Else it
// reads the tail in steps of rowids, so that one step's totals stay small.
func (s *Store) catchUp(ctx context.Context, tx *sql.Tx, counted rollup, n int) error {
	upto, last, err := tailSpan(ctx, tx)
	if err != nil {
		return err
	}
	if last <= upto {
		return nil
	}
	if counted != nil && last-upto == int64(n) {
		if err := s.writeRollup(ctx, tx, counted); err != nil {
			return err
		}
	} else {
		const step = 100000
		for from := upto; from < last; from += step {
			roll := make(rollup)
			if err := roll.addDocs(ctx, tx, "rowid > ? AND rowid <= ?", from, min(from+step, last)); err != nil {
				return err
			}
			if err := s.writeRollup(ctx, tx, roll); err != nil {
				return err
			}
		}
	}
	_, err = tx.ExecContext(ctx, "UPDATE rolled SET upto = ?", last)
	return err
}

// dataVersion returns PRAGMA data_version, which changes when another
// connection than q's commits to the file.
func dataVersion(ctx context.Context, q querier) (int64, error) {
	var v int64
	err := q.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
	return v, err
}

// flushTail counts the tail into the rollup in a transaction of its own.
// The caller holds s.write.
func (s *Store) flushTail(ctx context.Context) (err error) {
	defer s.dropStashOn(&err)
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	v, err := dataVersion(ctx, tx)
	if err != nil {
		return err
	}
	s.checkStash(v)
	if err := s.catchUp(ctx, tx, s.stash, s.tailDocs); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.caughtUpAt(v)
	return nil
}

// checkStash drops the stash unless v, the data version that the
// transaction sees, is the one it was last right at: no other
// connection has committed since. The caller holds s.write.
func (s *Store) checkStash(v int64) {
	if v != s.version {
		s.stash = nil
	}
}

// dropStashOn drops the stash when *err is set: a transaction that
// failed may have counted into it what it did not store. Deferred.
func (s *Store) dropStashOn(err *error) {
	if *err != nil {
		s.stash = nil
	}
}

// caughtUpAt notes that the rollup has caught up, in a transaction that
// saw data version v.
func (s *Store) caughtUpAt(v int64) {
	s.stash, s.version = make(rollup), v
	s.tailDocs, s.caughtUp = 0, time.Now()
}

// addDocs counts the entries of the documents that the condition where,
// on a range of rowids, selects. NOT INDEXED keeps SQLite to the range:
// with a condition on sig, it would read every document of the
// signatures through their index (all the pings of 10M events) for the
// few in the range.
func (r rollup) addDocs(ctx context.Context, q querier, where string, args ...any) error {
	rows, err := q.QueryContext(ctx, "SELECT time, sig, entries FROM docs NOT INDEXED WHERE "+where, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var ns, sig int64
		var entries sql.RawBytes
		if err := rows.Scan(&ns, &sig, &entries); err != nil {
			return err
		}
		if err := r.add(dayOf(ns), sig, entries, 1); err != nil {
			return err
		}
	}
	return rows.Err()
}

// grouped reports whether the rollup counts the values of the entry
// field name: the states and outcomes that the toolkit's packages record,
// which take a handful of values. Free text (messages, file names,
// transaction ids) would make the rollup as big as the documents; counts
// grouped by those fields read the entries. Changing this list needs a
// new schema version (Open would have to count the values of the stored
// entries).
func grouped(name string) bool {
	switch name {
	case "power_state", "state", "status", "outcome", "method", "protocol", "command",
		"profile", "netboot", "app", "severity", "facility", "level":
		return true
	}
	return false
}

// dayOf returns the day of a Unix time in nanoseconds.
func dayOf(ns int64) int64 {
	const day = int64(24 * time.Hour)
	if ns < 0 {
		return (ns - day + 1) / day
	}
	return ns / day
}

type rollKey struct {
	field string
	day   int64
	sig   int64
	act   string
	value string
}

type rollVal struct {
	n   int64
	sum float64
}

// rollup holds changes to the rollup table, to be written together.
type rollup map[rollKey]rollVal

// add counts the entries (JSON, as appendEntries writes them) of a
// document of day and signature sig, sign times: 1 for a document
// stored, -1 for one deleted.
func (r rollup) add(day, sig int64, entries []byte, sign int64) error {
	return eachEntry(entries, func(action, fields []byte) error {
		act := rawKey(action)
		r.put(rollKey{"", day, sig, act, ""}, sign, 0)
		return eachField(fields, func(k, v []byte) {
			x, isNum := number(v)
			r.field(day, sig, act, rawKey(k), x, isNum, func() string { return rawKey(v) }, sign)
		})
	})
}

// addDoc counts the entries of d, a document as the Sanitizer returns it
// (its fields hold JSON values), stored with signature sig: what add
// counts from their JSON.
func (r rollup) addDoc(d audit.Document, sig int64) {
	day := dayOf(d.Time.UnixNano())
	for _, e := range d.Entries {
		r.put(rollKey{"", day, sig, e.Action, ""}, 1, 0)
		for name, v := range e.Fields {
			x, isNum := v.(float64)
			r.field(day, sig, e.Action, name, x, isNum, func() string { return audit.FormatValue(v) }, 1)
		}
	}
}

// field counts the field name of an entry of action act: its sum x when
// it is a number, and its value, as key formats it, when grouped names it.
func (r rollup) field(day, sig int64, act, name string, x float64, isNum bool, key func() string, sign int64) {
	if isNum {
		r.put(rollKey{"#" + name, day, sig, act, ""}, sign, float64(sign)*x)
	}
	if grouped(name) {
		r.put(rollKey{name, day, sig, act, key()}, sign, 0)
	}
}

func (r rollup) put(k rollKey, n int64, sum float64) {
	v := r[k]
	v.n += n
	v.sum += sum
	r[k] = v
}

// writeRollup adds r to the rollup table.
func (s *Store) writeRollup(ctx context.Context, tx *sql.Tx, r rollup) error {
	const cols = rollupCols
	args := make([]any, 0, cols*rowsPerStatement)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		st, err := s.stmt(ctx, tx, "rollup", len(args)/cols, rollupSQL)
		if err == nil {
			_, err = st.ExecContext(ctx, args...)
		}
		args = args[:0]
		return err
	}
	for k, v := range r {
		if v.n == 0 && v.sum == 0 {
			continue
		}
		args = append(args, k.field, k.day, k.sig, k.act, k.value, v.n, v.sum)
		if len(args) == cols*rowsPerStatement {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// rollupCols is the number of columns rollupSQL sets.
const rollupCols = 7

// rollupSQL adds rows rows to the rollup.
func rollupSQL(rows int) string {
	return "INSERT INTO rollup(field, day, sig, action, value, n, sum) VALUES " + values(rows, rollupCols) +
		" ON CONFLICT DO UPDATE SET n = n + excluded.n, sum = sum + excluded.sum"
}

// rollupField returns the rollup field that answers a grouped query by
// the fields by (summing the field sum when not ""), and false when the
// rollup cannot answer it: a sum grouped by an entry field, or a count
// grouped by an entry field whose values are not counted.
func rollupField(by []string, sum string) (string, bool) {
	field := ""
	for _, b := range by {
		switch {
		case audit.IsDocField(b), b == audit.FieldAction:
		case sum == "" && field == "" && grouped(b):
			field = b
		default:
			return "", false
		}
	}
	if sum != "" {
		return "#" + sum, true
	}
	return field, true
}

// wholeDays splits f into the whole days [from, to) that the rollup
// answers and the filters of the parts of days before and after, which
// the entries answer. ok is false when f covers no whole day.
func wholeDays(f audit.Filter) (from, to int64, edges []audit.Filter, ok bool) {
	const day = int64(24 * time.Hour)
	from, to = -1<<62, 1<<62
	if !f.Since.IsZero() {
		ns := f.Since.UnixNano()
		from = dayOf(ns)
		if from*day != ns {
			from++
		}
	}
	if !f.Until.IsZero() {
		to = dayOf(f.Until.UnixNano())
	}
	if from >= to {
		return 0, 0, nil, false
	}
	if !f.Since.IsZero() && f.Since.UnixNano() != from*day {
		e := f
		e.Until = time.Unix(0, from*day)
		edges = append(edges, e)
	}
	if !f.Until.IsZero() && f.Until.UnixNano() != to*day {
		e := f
		e.Since = time.Unix(0, to*day)
		edges = append(edges, e)
	}
	return from, to, edges, true
}

// fromRollup answers a grouped query over the days [from, to) of f from
// the rollup field field (see rollupField).
func (s *Store) fromRollup(ctx context.Context, f audit.Filter, from, to int64, by []string, field string) ([]audit.Group, error) {
	entryField := field != "" && field[0] != '#'
	query := "SELECT field, sig, action, value, n, sum FROM rollup WHERE field = ? AND day >= ? AND day < ? AND n <> 0"
	args := []any{field, from, to}
	if entryField {
		query = "SELECT field, sig, action, value, n, sum FROM rollup WHERE field IN ('', ?) AND day >= ? AND day < ? AND n <> 0"
	}
	sigCond := ""
	w, wargs := sigWhere(f)
	if w != "" {
		sigCond = " AND sig IN (SELECT sig FROM sigs WHERE " + w + ")"
		query += sigCond
		args = append(args, wargs...)
	}
	// The rollup and its tail, as of one moment.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	tally := audit.NewTally(len(by))
	// For a count by an entry field: the entries of each group without
	// that field, and those that have it; the difference is the group of
	// the missing value "".
	all := audit.NewTally(len(by))
	with := audit.NewTally(len(by))
	add := func(rf string, sig int64, act, value string, n int64, sum float64) error {
		k, err := s.sig(ctx, sig)
		if err != nil {
			return err
		}
		var key [2]string
		for i, b := range by {
			switch {
			case audit.IsDocField(b):
				key[i] = k.field(b)
			case b == audit.FieldAction:
				key[i] = act
			case rf != "":
				key[i] = value
			}
		}
		switch {
		case !entryField:
			tally.Add(key, n, sum)
		case rf == "":
			all.Add(key, n, 0)
		default:
			tally.Add(key, n, 0)
			for i, b := range by {
				if b == field {
					key[i] = ""
				}
			}
			with.Add(key, n, 0)
		}
		return nil
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rf, act, value string
	var sig, n int64
	var sum float64
	for rows.Next() {
		if err := rows.Scan(&rf, &sig, &act, &value, &n, &sum); err != nil {
			return nil, err
		}
		if err := add(rf, sig, act, value, n, sum); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	want := func(k rollKey) bool {
		return k.day >= from && k.day < to && (k.field == field || entryField && k.field == "")
	}
	upto, last, err := tailSpan(ctx, tx)
	if err != nil {
		return nil, err
	}
	tail, ok, err := s.stashed(ctx, upto, last, f, want)
	if err != nil {
		return nil, err
	}
	if !ok {
		tail = make(rollup)
		if err := tail.addDocs(ctx, tx, "rowid > ?"+sigCond, append([]any{upto}, wargs...)...); err != nil {
			return nil, err
		}
	}
	for k, v := range tail {
		if v.n == 0 || !want(k) {
			continue
		}
		if err := add(k.field, k.sig, k.act, k.value, v.n, v.sum); err != nil {
			return nil, err
		}
	}
	out := tally.Groups()
	if entryField {
		have := make(map[string]int64)
		for _, g := range with.Groups() {
			have[strings.Join(g.Key, "\x00")] = g.Count
		}
		for _, g := range all.Groups() {
			if g.Count -= have[strings.Join(g.Key, "\x00")]; g.Count > 0 {
				out = append(out, g)
			}
		}
	}
	return out, nil
}

// stashed returns the counts of the stash that want takes, of the
// signatures that f selects, when the stash counts the whole tail that
// a read transaction sees, (upto, last] of its tailSpan (ok); else the
// caller reads the tail. The stash is as of this process's last commit,
// and the transaction sees that same state when its tail is as long as
// the stash's (an Insert of this process committed after its snapshot
// would have made them differ) and no other connection has committed
// since that commit.
func (s *Store) stashed(ctx context.Context, upto, last int64, f audit.Filter, want func(rollKey) bool) (r rollup, ok bool, err error) {
	s.write.Lock()
	defer s.write.Unlock()
	if s.stash == nil || last-upto != int64(s.tailDocs) {
		return nil, false, nil
	}
	v, err := dataVersion(ctx, s.wconn)
	if err != nil {
		return nil, false, err
	}
	if v != s.version {
		return nil, false, nil
	}
	r = make(rollup)
	for k, c := range s.stash {
		if !want(k) {
			continue
		}
		if f.Package != "" || f.Machine != "" {
			sk, err := s.sig(ctx, k.sig)
			if err != nil {
				return nil, false, err
			}
			if !sigMatches(f, sk) {
				continue
			}
		}
		r[k] = c
	}
	return r, true, nil
}
