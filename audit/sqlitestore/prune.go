package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// Prune implements [audit.Pruner]: it deletes the documents older than
// r.MaxAge, then the oldest while the pages in use take more than
// r.MaxBytes, in steps of at most audit.PruneBatch documents, each its
// own transaction, which takes the documents' entries out of the rollup
// too. The pages freed are reused; the file does not shrink.
func (s *Store) Prune(ctx context.Context, r audit.Retention) (audit.Pruned, error) {
	p, err := s.prune(ctx, r)
	if p.Documents > 0 {
		// Rows counted down to nothing are left when whole days go; the
		// queries skip them, this takes them away once.
		if _, cerr := s.db.ExecContext(ctx, "DELETE FROM rollup WHERE n = 0 AND sum = 0"); cerr != nil && err == nil {
			err = fmt.Errorf("sqlitestore: prune: %w", cerr)
		}
	}
	return p, err
}

func (s *Store) prune(ctx context.Context, r audit.Retention) (audit.Pruned, error) {
	var p audit.Pruned
	del := func(query string, args ...any) (int64, error) {
		n, err := s.delete(ctx, query, args...)
		if err != nil {
			return 0, fmt.Errorf("sqlitestore: prune: %w", err)
		}
		p.Documents += n
		return n, nil
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

// delete deletes the documents that the rest of a SELECT from docs,
// query, selects, and their counts in the rollup, in one transaction.
func (s *Store) delete(ctx context.Context, query string, args ...any) (int64, error) {
	s.write.Lock()
	defer s.write.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	upto, err := rolledUpTo(ctx, tx)
	if err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, "DELETE FROM docs WHERE rowid IN (SELECT rowid FROM docs"+query+") RETURNING rowid, time, sig, entries", args...)
	if err != nil {
		return 0, err
	}
	roll := make(rollup)
	var n int64
	for rows.Next() {
		var rowid, ns, sig int64
		var entries sql.RawBytes
		if err := rows.Scan(&rowid, &ns, &sig, &entries); err != nil {
			rows.Close()
			return 0, err
		}
		n++
		if rowid > upto {
			continue // in the tail: not counted yet
		}
		if err := roll.add(dayOf(ns), sig, entries, -1); err != nil {
			rows.Close()
			return 0, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if err := s.writeRollup(ctx, tx, roll); err != nil {
		return 0, err
	}
	// Deleting the newest documents would let new ones take rowids the
	// mark has passed.
	if _, err := tx.ExecContext(ctx, "UPDATE rolled SET upto = min(upto, (SELECT coalesce(max(rowid), 0) FROM docs))"); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}
