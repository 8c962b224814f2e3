package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
)

// rollupQuery is a grouped query: a count, or a sum of the field sum.
type rollupQuery struct {
	f   audit.Filter
	by  []string
	sum string
}

// rollupQueries are grouped queries that the rollup answers, with
// filters of whole days, of parts of days and of machines.
func rollupQueries() []rollupQuery {
	day := audittest.T0.Truncate(24 * time.Hour)
	filters := []audit.Filter{
		{},
		{Package: "amt"},
		{Package: "ping", Since: day.Add(24 * time.Hour)},
		{Since: audittest.T0.Add(90 * time.Minute), Until: day.Add(30 * time.Hour)},
		{Machine: "host-1000"},
		{Machine: "10.0.3.232", Until: day.Add(24 * time.Hour)}, // machine 1000
	}
	var out []rollupQuery
	for _, f := range filters {
		for _, q := range []rollupQuery{
			{by: []string{"ip", "power_state"}},
			{by: []string{"action"}},
			{by: []string{"package", "outcome"}},
			{by: []string{"hostname"}},
			{by: []string{"mac"}}, // which appends fill
			{by: []string{"ip"}, sum: "rtt"},
			{by: []string{"package", "action"}, sum: "bytes"},
		} {
			q.f = f
			out = append(out, q)
		}
	}
	return out
}

// TestRollupMatchesEntries checks that the rollup and its tail answer
// what reading every entry answers, after inserts that append to stored
// documents (one of them filling a machine field, which changes its
// signature), after a prune, and after a reopening that leaves a tail
// for the next Insert: with the rollup caught up after every insert,
// never, or halfway.
func TestRollupMatchesEntries(t *testing.T) {
	ctx := context.Background()
	// 10 machines (host-0, host-1000, ...) for 900 rounds: into the next
	// day. (More take minutes under the race detector, which makes
	// SQLite 30 times slower.)
	const machines = 10
	const n = machines * 900
	var events []audit.Event
	for i := 0; i < n; i++ {
		events = append(events, audittest.Mixed(i*audittest.MixedMachines/machines))
	}
	// Appends: the same ids again, some with a MAC the first lacked.
	for i := 0; i < n; i += 7 {
		e := events[i]
		if i%2 == 0 && len(e.MAC) == 0 {
			e.MAC = audittest.MixedMAC(i)
		}
		events = append(events, e)
	}
	for _, tc := range []struct {
		name     string
		catchUps func(batch int) bool // whether the rollup catches up after the batch
		// whether the queries then take the tail's counts from the stash,
		// which the first catching up makes
		stashed bool
	}{
		{"caught up after every insert", func(int) bool { return true }, true},
		{"all in the tail", func(int) bool { return false }, false},
		{"caught up halfway", func(batch int) bool { return batch == 5 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.db")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Close() }()
			const batch = 1000
			for i := 0; i < len(events); i += batch {
				s.caughtUp = time.Now() // no catching up but the test's
				if err := s.Insert(ctx, audit.Merge(events[i:min(i+batch, len(events))])); err != nil {
					t.Fatal(err)
				}
				if tc.catchUps(i / batch) {
					catchUp(t, s)
				}
			}
			if got := queriesTakeStash(t, s); got != tc.stashed {
				t.Errorf("after inserts and appends, queries take the stash: %v, want %v", got, tc.stashed)
			}
			checkRollup(t, s, "after inserts")
			if _, err := s.delete(ctx, " WHERE time < ?", audittest.T0.Add(3*time.Hour).UnixNano()); err != nil {
				t.Fatal(err)
			}
			checkRollup(t, s, "after a prune")
			s.tailDocs = 0 // as a process killed before Close: its tail stays
			s.Close()
			if s, err = Open(ctx, path); err != nil {
				t.Fatal(err)
			}
			checkRollup(t, s, "reopened")
			if err := s.Insert(ctx, audit.Merge(events[:1])); err != nil { // the first Insert catches up
				t.Fatal(err)
			}
			if upto, err := rolledUpTo(ctx, s.db); err != nil || upto == 0 {
				t.Fatalf("after the first Insert, rolled up to %d, %v", upto, err)
			}
			checkRollup(t, s, "caught up after reopening")
		})
	}
}

// catchUp counts the tail of s into its rollup.
func catchUp(t *testing.T, s *Store) {
	t.Helper()
	s.write.Lock()
	defer s.write.Unlock()
	if err := s.flushTail(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// checkRollup compares the answers of the rollup queries with those that
// read every entry.
func checkRollup(t *testing.T, s *Store, when string) {
	t.Helper()
	ctx := context.Background()
	for _, q := range rollupQueries() {
		got, err := s.group(ctx, q.f, q.by, q.sum)
		if err != nil {
			t.Fatalf("%s: group %+v: %v", when, q, err)
		}
		want, err := s.scan(ctx, q.f, q.by, q.sum)
		if err != nil {
			t.Fatalf("%s: scan %+v: %v", when, q, err)
		}
		want = audit.MergeGroups(want)
		if !sameGroups(got, want) {
			t.Errorf("%s: %+v:\nrollup  %v\nentries %v", when, q, head(got), head(want))
		}
	}
}

func sameGroups(a, b []audit.Group) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		d := a[i].Sum - b[i].Sum
		if !reflect.DeepEqual(a[i].Key, b[i].Key) || a[i].Count != b[i].Count || d > 1e-6 || d < -1e-6 {
			return false
		}
	}
	return true
}

func head(gs []audit.Group) string {
	return fmt.Sprintf("%d groups: %v", len(gs), gs[:min(len(gs), 4)])
}

// schema1 is the first schema, which Open migrates.
const schema1 = `
CREATE TABLE docs (id TEXT PRIMARY KEY, time INTEGER NOT NULL, package TEXT NOT NULL, ip TEXT, mac TEXT, hostname TEXT,
	n INTEGER NOT NULL, entries TEXT NOT NULL);
CREATE INDEX docs_time     ON docs(time);
CREATE INDEX docs_package  ON docs(package, time);
CREATE INDEX docs_ip       ON docs(ip, time)       WHERE ip IS NOT NULL;
CREATE INDEX docs_mac      ON docs(mac, time)      WHERE mac IS NOT NULL;
CREATE INDEX docs_hostname ON docs(hostname, time) WHERE hostname IS NOT NULL;
`

// TestMigrate1 checks that a file of the first schema, opened, answers
// as a new store of the same documents does.
func TestMigrate1(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var docs []audit.Document
	for i := 0; i < 10000; i++ {
		docs = append(docs, audit.Merge([]audit.Event{audittest.Mixed(i * 100)})...)
	}
	old, err := sql.Open("sqlite", filepath.Join(dir, "v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, schema1); err != nil {
		t.Fatal(err)
	}
	tx, err := old.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		buf, err := appendEntries(nil, d.Entries)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", d.ID, d.Time.UnixNano(), d.Package,
			nullable(d.IP), nullable(d.MAC), nullable(d.Hostname), len(d.Entries), string(buf)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	old.Close()
	migrated, err := Open(ctx, filepath.Join(dir, "v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer migrated.Close()
	fresh, err := Open(ctx, filepath.Join(dir, "v2.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if err := fresh.Insert(ctx, docs); err != nil {
		t.Fatal(err)
	}
	for _, q := range rollupQueries() {
		got, err := migrated.group(ctx, q.f, q.by, q.sum)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh.group(ctx, q.f, q.by, q.sum)
		if err != nil {
			t.Fatal(err)
		}
		if !sameGroups(got, want) {
			t.Errorf("%+v:\nmigrated %v\nnew      %v", q, head(got), head(want))
		}
	}
	for _, m := range []string{"host-500", "10.0.1.244", audittest.MixedMAC(500).String()} {
		a, err1 := migrated.LastSeen(ctx, m)
		b, err2 := fresh.LastSeen(ctx, m)
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("LastSeen(%s): migrated %+v, %v; new %+v, %v", m, a, err1, b, err2)
		}
	}
}

// TestMigrate2 checks that a file of schema 2, whose rollup counts every
// document and which has no mark, counts each document once when
// opened.
func TestMigrate2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var events []audit.Event
	for i := 0; i < 10000; i++ {
		events = append(events, audittest.Mixed(i*100))
	}
	if err := s.Insert(ctx, audit.Merge(events)); err != nil {
		t.Fatal(err)
	}
	catchUp(t, s)
	if _, err := s.db.ExecContext(ctx, "DROP TABLE rolled; PRAGMA user_version = 2"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Insert(ctx, audit.Merge(events[:10])); err != nil { // catches up
		t.Fatal(err)
	}
	checkRollup(t, s, "migrated from schema 2")
}

// TestCloseCountsTail checks that Close counts what the process inserted
// into the rollup, and that a store which only read leaves the file as
// it was.
func TestCloseCountsTail(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Insert(ctx, audit.Merge([]audit.Event{audittest.Mixed(i)})); err != nil {
			t.Fatal(err)
		}
	}
	if upto, err := rolledUpTo(ctx, s.db); err != nil || upto != 1 {
		t.Fatalf("before Close: rolled up to %d, %v; want 1 (the first Insert catches up, then 5 s go by)", upto, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, when := range []string{"after Close", "after a reader's Close"} {
		if s, err = Open(ctx, path); err != nil {
			t.Fatal(err)
		}
		if upto, err := rolledUpTo(ctx, s.db); err != nil || upto != 3 {
			t.Errorf("%s: rolled up to %d, %v; want 3", when, upto, err)
		}
		checkRollup(t, s, when)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStashWithTwoWriters checks that the rollup stays right when two
// stores (two processes) write one file: each counts its own documents
// as it inserts them (the stash) only while the other has not written.
func TestStashWithTwoWriters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { a.Close() }()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { b.Close() }()
	next := 0
	insert := func(s *Store) {
		t.Helper()
		var events []audit.Event
		for range 200 {
			events = append(events, audittest.Mixed(next))
			next++
		}
		if err := s.Insert(ctx, audit.Merge(events)); err != nil {
			t.Fatal(err)
		}
	}
	insert(a) // the first Insert catches up
	insert(a)
	if a.stash == nil || a.tailDocs == 0 {
		t.Fatalf("after two Inserts alone: stash %v, %d documents in the tail; want the tail stashed", a.stash != nil, a.tailDocs)
	}
	if !queriesTakeStash(t, a) {
		t.Fatal("queries read the tail back while a's stash counts it")
	}
	checkRollup(t, a, "the tail stashed")
	if stashTaken(t, a, func() { insert(a) }) {
		t.Fatal("a query of a snapshot older than a's last Insert took the stash")
	}
	catchUp(t, a) // from the stash
	checkRollup(t, a, "caught up from the stash")
	insert(a)
	insert(b) // its first Insert catches up: it reads a's tail back
	insert(b) // a tail as long as a's stash, of b's documents
	if a.stash == nil || queriesTakeStash(t, a) {
		t.Fatalf("after b wrote: a's stash %v, taken by queries; want it kept (a has not written since) and not taken", a.stash != nil)
	}
	checkRollup(t, a, "b wrote since a's stash")
	insert(a)
	if a.stash != nil {
		t.Fatal("a kept its stash after b wrote")
	}
	insert(b)
	catchUp(t, a)
	catchUp(t, b)
	checkRollup(t, a, "after both wrote")
	insert(a)
	if a.stash == nil {
		t.Fatal("a has no stash after catching up alone")
	}
	catchUp(t, a)
	checkRollup(t, b, "after a wrote alone again")
}

// queriesTakeStash reports whether a query of s now takes the tail's
// counts from the stash rather than reading the tail.
func queriesTakeStash(t *testing.T, s *Store) bool { return stashTaken(t, s, nil) }

// stashTaken reports whether a query of s whose snapshot was taken
// before between ran takes the tail's counts from the stash.
func stashTaken(t *testing.T, s *Store, between func()) bool {
	t.Helper()
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	upto, last, err := tailSpan(ctx, tx) // the snapshot
	if err != nil {
		t.Fatal(err)
	}
	if between != nil {
		between()
	}
	_, ok, err := s.stashed(ctx, upto, last, audit.Filter{}, func(rollKey) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// TestDue checks when Insert catches up: the tail stashed may grow
// longer and older than the tail that would be read back.
func TestDue(t *testing.T) {
	for _, tc := range []struct {
		stashed bool
		n       int
		age     time.Duration
		want    bool
	}{
		{false, maxTail - 1, 0, false},
		{false, maxTail, 0, true},
		{false, 1, maxTailAge, true},
		{true, maxTail, 0, false},
		{true, 1, maxTailAge, false},
		{true, maxStashed - 1, maxStashedAge - time.Second, false},
		{true, maxStashed, 0, true},
		{true, 1, maxStashedAge, true},
	} {
		s := &Store{caughtUp: time.Now().Add(-tc.age)}
		if tc.stashed {
			s.stash = make(rollup)
		}
		if got := s.due(tc.n); got != tc.want {
			t.Errorf("stashed %v, %d documents, %v old: due %v, want %v", tc.stashed, tc.n, tc.age, got, tc.want)
		}
	}
}
