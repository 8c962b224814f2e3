package sqlitestore

import (
	"context"

	"github.com/pxelator/pxelator/audit"
)

// BulkLoad fills a new file at path with the documents of n events from
// gen, for benchmarks: through Insert, as the server stores them, but
// without the indexes of docs, which the next Open builds by sorting
// (much faster than keeping them up to date row by row).
func BulkLoad(ctx context.Context, path string, n int, gen func(i int) audit.Event) error {
	s, err := open(ctx, path, false)
	if err != nil {
		return err
	}
	defer s.Close()
	const chunk = 20000
	events := make([]audit.Event, 0, chunk)
	for i := 0; i < n; i += chunk {
		events = events[:0]
		for j := i; j < min(i+chunk, n); j++ {
			events = append(events, gen(j))
		}
		if err := s.Insert(ctx, audit.Merge(events)); err != nil {
			return err
		}
	}
	return nil
}
