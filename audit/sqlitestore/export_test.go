package sqlitestore

import (
	"context"
	"database/sql"
	"net/url"

	"github.com/pxelator/pxelator/audit"
)

// BulkLoad fills a new file at path with the documents of n events from
// gen, for benchmarks: rows first, then Open builds the indexes by
// sorting, which is much faster than keeping them up to date row by row.
// (Insert is what the server uses; BenchmarkInsert measures it.)
func BulkLoad(ctx context.Context, path string, n int, gen func(i int) audit.Event) error {
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return err
	}
	const chunk = 20000
	events := make([]audit.Event, 0, chunk)
	for i := 0; i < n; i += chunk {
		events = events[:0]
		for j := i; j < min(i+chunk, n); j++ {
			events = append(events, gen(j))
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		docs := audit.Merge(events)
		for k := 0; k < len(docs); k += rowsPerStatement {
			part := docs[k:min(k+rowsPerStatement, len(docs))]
			args := make([]any, 0, 8*len(part))
			for _, d := range part {
				buf, err := appendEntries(nil, d.Entries)
				if err != nil {
					return err
				}
				args = append(args, d.ID, d.Time.UnixNano(), d.Package,
					nullable(d.IP), nullable(d.MAC), nullable(d.Hostname), len(d.Entries), string(buf))
			}
			if _, err := tx.ExecContext(ctx, upsert(len(part)), args...); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}
