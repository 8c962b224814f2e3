package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pxelator/pxelator/audit"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

// Store is an audit backend in one SQLite file. It implements
// [audit.Backend] and is safe for concurrent use.
type Store struct {
	db    *sql.DB
	san   audit.Sanitizer
	stmts sync.Map // stmtKey → *sql.Stmt, prepared once

	// write serializes this process's writes (Insert, Prune): they keep
	// the rollup and the signatures in step with the documents.
	write sync.Mutex
	// Under write: the documents this process inserted since the rollup
	// last caught up, and when that was.
	tailDocs int
	caughtUp time.Time
	// Under write: the connection that Insert and flushTail write on,
	// and the stash, which counts the tailDocs documents as Insert wrote
	// them (and what appends changed in them), so that catching up need
	// not read them back (that reading took a third of the time of
	// catching up), nor the queries. The stash is nil when it is not the
	// whole tail: after a failed Insert, or a commit of another
	// connection (another process, or this one's Prune), which changes
	// version, PRAGMA data_version on wconn. The tail is read back then.
	wconn   *sql.Conn
	stash   rollup
	version int64

	sigMu  sync.RWMutex
	sigIDs map[sigKey]int64 // the signatures committed, both ways
	sigOf  map[int64]sigKey
}

var _ audit.Backend = (*Store)(nil)

// version is the schema this package writes (PRAGMA user_version). A
// file of version 0 with a docs table is of the first schema, which had
// no signatures and no rollup; version 2 kept the rollup in step with
// every Insert and had no mark. Open migrates both.
const version = 3

// The schema. A document's package, ip, mac and hostname make its
// signature (sigs, a few per machine); the documents are found through
// the signature, so that the table of documents needs one index per
// purpose rather than one per field. The rollup counts the entries of
// each day, signature and action, sums their numeric fields and counts
// the values of the fields that grouped names: grouped queries over whole
// days read it instead of every entry. It counts the documents up to the
// rowid in rolled; those after it, the tail, are counted every few
// seconds, or every minute while this process counts them as it writes
// them (see catchUp and due), and read by the queries meanwhile.
const schema = `
CREATE TABLE IF NOT EXISTS docs (
	id       TEXT PRIMARY KEY,
	time     INTEGER NOT NULL, -- the first event, Unix nanoseconds
	package  TEXT NOT NULL,
	ip       TEXT,             -- NULL when unknown, like mac and hostname
	mac      TEXT,
	hostname TEXT,
	n        INTEGER NOT NULL, -- len(entries)
	entries  TEXT NOT NULL,    -- JSON array of {"time","action","fields"}
	sig      INTEGER NOT NULL DEFAULT 0 -- sigs.sig of package, ip, mac, hostname
);
CREATE TABLE IF NOT EXISTS sigs (
	sig      INTEGER PRIMARY KEY,
	package  TEXT NOT NULL,
	ip       TEXT NOT NULL DEFAULT '', -- '' when unknown
	mac      TEXT NOT NULL DEFAULT '',
	hostname TEXT NOT NULL DEFAULT '',
	UNIQUE (package, ip, mac, hostname)
);
CREATE TABLE IF NOT EXISTS rollup (
	field  TEXT NOT NULL,    -- '' counts entries; '#name' sums the numeric field name; name counts its values
	day    INTEGER NOT NULL, -- of the document's time, in days since 1970-01-01 UTC
	sig    INTEGER NOT NULL,
	action TEXT NOT NULL,
	value  TEXT NOT NULL,    -- the value of field name as a group key, else ''
	n      INTEGER NOT NULL,
	sum    REAL NOT NULL,
	PRIMARY KEY (field, day, sig, action, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rolled (
	upto INTEGER NOT NULL -- the rollup counts the documents of rowid <= upto; one row
);
CREATE INDEX IF NOT EXISTS sigs_ip       ON sigs(ip)       WHERE ip <> '';
CREATE INDEX IF NOT EXISTS sigs_mac      ON sigs(mac)      WHERE mac <> '';
CREATE INDEX IF NOT EXISTS sigs_hostname ON sigs(hostname) WHERE hostname <> '';
CREATE VIEW IF NOT EXISTS documents AS
	SELECT json_object('_id', id, 'time', strftime('%Y-%m-%dT%H:%M:%fZ', time/1e9, 'unixepoch'),
		'package', json_object('name', package), 'ip', ip, 'mac', mac, 'hostname', hostname,
		'entries', json(entries)) AS doc FROM docs;
`

// indexes are the indexes of docs: by time, by package and by signature
// (each then by time), and the primary key's.
const indexes = `
CREATE INDEX IF NOT EXISTS docs_time    ON docs(time);
CREATE INDEX IF NOT EXISTS docs_package ON docs(package, time);
CREATE INDEX IF NOT EXISTS docs_sig     ON docs(sig, time);
`

// Open opens (creating it and its directory if needed) the SQLite file
// at path, creates the tables and indexes the queries use, and migrates
// a file of the first schema (which takes a minute for every 10M events).
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, true)
}

func open(ctx context.Context, path string, withIndexes bool) (*Store, error) {
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
	s := &Store{db: db, sigIDs: make(map[sigKey]int64), sigOf: make(map[int64]sigKey)}
	err = s.setUp(ctx, withIndexes)
	if err == nil {
		s.wconn, err = db.Conn(ctx)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return s, nil
}

// setUp creates or migrates the schema and loads the signatures.
func (s *Store) setUp(ctx context.Context, withIndexes bool) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v > version {
		return fmt.Errorf("schema version %d is newer than this program's %d", v, version)
	}
	old := 0 // a docs table of the first schema
	if v == 0 {
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = 'docs'").Scan(&old); err != nil {
			return err
		}
	}
	// The new tables before a migration, outside its transaction: the
	// statements that write the rollup are prepared on other connections.
	// Left empty by a failed migration, they are filled by the next.
	if _, err := s.db.ExecContext(ctx, schema); err != nil {
		return err
	}
	switch {
	case old > 0:
		if err := s.migrate1(ctx); err != nil {
			return fmt.Errorf("migrating from schema 1: %w", err)
		}
	case v < version:
		// A new file, or one of schema 2, whose rollup counts every
		// document.
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "INSERT INTO rolled(upto) SELECT coalesce(max(rowid), 0) FROM docs WHERE NOT EXISTS (SELECT 1 FROM rolled)"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, userVersion); err != nil {
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	if withIndexes {
		if _, err := s.db.ExecContext(ctx, indexes); err != nil {
			return err
		}
	}
	return s.loadSigs(ctx)
}

// userVersion marks a file as of this package's schema.
var userVersion = fmt.Sprintf("PRAGMA user_version = %d", version)

// migrate1 turns a file of the first schema into the current one in one
// transaction: it gives each document its signature, drops the indexes
// the signatures replace and builds the rollup from every entry.
func (s *Store) migrate1(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	steps := []string{
		"ALTER TABLE docs ADD COLUMN sig INTEGER NOT NULL DEFAULT 0",
		`INSERT OR IGNORE INTO sigs(package, ip, mac, hostname)
			SELECT DISTINCT package, coalesce(ip, ''), coalesce(mac, ''), coalesce(hostname, '') FROM docs`,
		`UPDATE docs SET sig = (SELECT s.sig FROM sigs s WHERE s.package = docs.package AND s.ip = coalesce(docs.ip, '')
			AND s.mac = coalesce(docs.mac, '') AND s.hostname = coalesce(docs.hostname, ''))`,
		"DROP INDEX IF EXISTS docs_ip",
		"DROP INDEX IF EXISTS docs_mac",
		"DROP INDEX IF EXISTS docs_hostname",
	}
	for _, q := range steps {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO rolled(upto) VALUES (0)"); err != nil {
		return err
	}
	if err := s.catchUp(ctx, tx, nil, 0); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, userVersion); err != nil {
		return err
	}
	return tx.Commit()
}

// Close counts into the rollup the documents this process inserted since
// it last caught up, so that the queries of the next do not read them,
// and closes the database.
func (s *Store) Close() error {
	s.write.Lock()
	var err error
	if s.tailDocs > 0 {
		err = s.flushTail(context.Background())
	}
	if cerr := s.wconn.Close(); err == nil {
		err = cerr
	}
	s.write.Unlock()
	s.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	if cerr := s.db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
	}
	return nil
}

// Sanitized counts the documents that Insert changed or rejected.
func (s *Store) Sanitized() audit.SanitizeCounts { return s.san.Counts() }

type stmtKey struct {
	name string
	rows int
}

// stmt returns the statement name for rows rows in tx, built by build and
// prepared once: parsing a statement of 64 rows costs more than running
// it.
func (s *Store) stmt(ctx context.Context, tx *sql.Tx, name string, rows int, build func(int) string) (*sql.Stmt, error) {
	k := stmtKey{name, rows}
	if st, ok := s.stmts.Load(k); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	st, err := s.db.PrepareContext(ctx, build(rows))
	if err != nil {
		return nil, err
	}
	if old, loaded := s.stmts.LoadOrStore(k, st); loaded {
		st.Close()
		st = old.(*sql.Stmt)
	}
	return tx.StmtContext(ctx, st), nil
}
