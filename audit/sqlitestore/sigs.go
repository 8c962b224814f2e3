package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/pxelator/pxelator/audit"
)

// sigKey is a signature: the package and the machine fields of a
// document ("" when unknown).
type sigKey struct {
	pkg, ip, mac, hostname string
}

func keyOf(d audit.Document) sigKey { return sigKey{d.Package, d.IP, d.MAC, d.Hostname} }

// field returns the value of the document field name (see audit.IsDocField).
func (k sigKey) field(name string) string {
	switch name {
	case audit.FieldPackage:
		return k.pkg
	case audit.FieldIP:
		return k.ip
	case audit.FieldMAC:
		return k.mac
	}
	return k.hostname
}

// loadSigs reads every signature into the cache.
func (s *Store) loadSigs(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT sig, package, ip, mac, hostname FROM sigs")
	if err != nil {
		return err
	}
	defer rows.Close()
	s.sigMu.Lock()
	defer s.sigMu.Unlock()
	for rows.Next() {
		var id int64
		var k sigKey
		if err := rows.Scan(&id, &k.pkg, &k.ip, &k.mac, &k.hostname); err != nil {
			return err
		}
		s.sigIDs[k], s.sigOf[id] = id, k
	}
	return rows.Err()
}

// sigTx finds and makes signatures inside one write transaction; made
// holds those not yet committed, for the cache after the commit.
type sigTx struct {
	s    *Store
	tx   *sql.Tx
	made map[sigKey]int64
}

// id returns the signature of k, inserting it when it is new.
func (t *sigTx) id(ctx context.Context, k sigKey) (int64, error) {
	t.s.sigMu.RLock()
	id, ok := t.s.sigIDs[k]
	t.s.sigMu.RUnlock()
	if ok {
		return id, nil
	}
	if err := t.make(ctx, []sigKey{k}); err != nil {
		return 0, err
	}
	if id, ok := t.made[k]; ok {
		return id, nil
	}
	// Another process made it: read it.
	if err := t.tx.QueryRowContext(ctx, "SELECT sig FROM sigs WHERE package = ? AND ip = ? AND mac = ? AND hostname = ?",
		k.pkg, k.ip, k.mac, k.hostname).Scan(&id); err != nil {
		return 0, err
	}
	t.made[k] = id
	return id, nil
}

// make inserts the signatures of keys that are not stored, in few
// statements.
func (t *sigTx) make(ctx context.Context, keys []sigKey) error {
	var missing []sigKey
	seen := make(map[sigKey]bool)
	t.s.sigMu.RLock()
	for _, k := range keys {
		if _, ok := t.s.sigIDs[k]; !ok && !seen[k] {
			if _, ok := t.made[k]; !ok {
				seen[k] = true
				missing = append(missing, k)
			}
		}
	}
	t.s.sigMu.RUnlock()
	if t.made == nil {
		t.made = make(map[sigKey]int64)
	}
	for len(missing) > 0 {
		n := min(len(missing), rowsPerStatement)
		st, err := t.s.stmt(ctx, t.tx, "sigs", n, sigsSQL)
		if err != nil {
			return err
		}
		args := make([]any, 0, 4*n)
		for _, k := range missing[:n] {
			args = append(args, k.pkg, k.ip, k.mac, k.hostname)
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var k sigKey
			if err := rows.Scan(&id, &k.pkg, &k.ip, &k.mac, &k.hostname); err != nil {
				rows.Close()
				return err
			}
			t.made[k] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		missing = missing[n:]
	}
	// Those another process made are left for id to read.
	return nil
}

// sigsSQL inserts rows signatures that are not stored and returns those
// it inserted.
func sigsSQL(rows int) string {
	return "INSERT INTO sigs(package, ip, mac, hostname) VALUES " + values(rows, 4) +
		" ON CONFLICT DO NOTHING RETURNING sig, package, ip, mac, hostname"
}

// committed adds the signatures made to the cache.
func (t *sigTx) committed() {
	if len(t.made) == 0 {
		return
	}
	t.s.sigMu.Lock()
	for k, id := range t.made {
		t.s.sigIDs[k], t.s.sigOf[id] = id, k
	}
	t.s.sigMu.Unlock()
}

// sig returns the signature numbered id, reading it from the file when
// another process made it.
func (s *Store) sig(ctx context.Context, id int64) (sigKey, error) {
	s.sigMu.RLock()
	k, ok := s.sigOf[id]
	s.sigMu.RUnlock()
	if ok {
		return k, nil
	}
	err := s.db.QueryRowContext(ctx, "SELECT package, ip, mac, hostname FROM sigs WHERE sig = ?", id).Scan(&k.pkg, &k.ip, &k.mac, &k.hostname)
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("signature %d: not stored", id)
	}
	if err != nil {
		return k, err
	}
	s.sigMu.Lock()
	s.sigIDs[k], s.sigOf[id] = id, k
	s.sigMu.Unlock()
	return k, nil
}
