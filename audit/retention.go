package audit

import (
	"context"
	"log/slog"
	"time"
)

// Retention bounds what a backend keeps, so that the audit of a busy
// network never fills its disk. The zero Retention keeps everything.
type Retention struct {
	// MaxAge, when not 0, removes the documents whose time is more than
	// MaxAge ago.
	MaxAge time.Duration
	// MaxBytes, when not 0, removes the oldest documents while the
	// documents take more than MaxBytes, as the backend measures them:
	// the pages in use of the SQLite file (which is not made smaller:
	// SQLite reuses the pages freed), the data size of the MongoDB
	// collection.
	MaxBytes int64
}

// Pruned says what [Pruner.Prune] removed.
type Pruned struct {
	Documents int64 // documents removed
	Bytes     int64 // what the documents take afterwards, as MaxBytes counts
}

// Pruner removes what a Retention does not keep. Every [Backend] is one.
type Pruner interface {
	// Prune removes the documents older than r.MaxAge, then the oldest
	// while the documents take more than r.MaxBytes. It works in small
	// steps, so that inserts are not held up for long.
	Prune(ctx context.Context, r Retention) (Pruned, error)
}

// Retain has p enforce r at once and then every interval until ctx is
// done, logging what it removed (and errors) to log; nil means
// slog.Default(). It returns when ctx is done, or at once for the zero
// Retention.
func Retain(ctx context.Context, p Pruner, r Retention, interval time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	if r == (Retention{}) {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		res, err := p.Prune(ctx, r)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("audit: enforcing the retention", "err", err)
		case res.Documents > 0:
			log.Info("audit: removed documents the retention does not keep", "documents", res.Documents,
				"max_age", r.MaxAge, "max_bytes", r.MaxBytes, "bytes", res.Bytes)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PruneBatch is the most documents a backend removes in one step of
// Prune.
const PruneBatch = 5000

// PruneCount returns how many of count documents taking used bytes to
// remove, oldest first, so that they take at most max: as many as their
// average size says, at least one, at most PruneBatch. Backends call it
// until their measure is under max.
func PruneCount(count, used, max int64) int64 {
	if count <= 0 || used <= max {
		return 0
	}
	n := int64(float64(count)*float64(used-max)/float64(used)) + 1
	return min(n, count, PruneBatch)
}
