package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/mongostore"
	"github.com/pxelator/pxelator/audit/sqlitestore"
)

// openBackend opens the audit store named by uri: "mongodb://..." (or
// "mongodb+srv://..."), "sqlite:PATH", or "" for the SQLite file
// audit.db in the state directory, outside the git-tracked conf tree. It
// returns nil for "none".
func openBackend(ctx context.Context, uri, state string, log *slog.Logger) (audit.Backend, error) {
	switch {
	case uri == "none":
		return nil, nil
	case uri == "":
		if err := os.MkdirAll(state, 0o700); err != nil {
			return nil, err
		}
		return sqlitestore.Open(ctx, filepath.Join(state, "audit.db"))
	case strings.HasPrefix(uri, "sqlite:"):
		path := strings.TrimPrefix(uri, "sqlite:")
		if path == "" {
			return nil, errors.New("-audit sqlite:PATH: empty path")
		}
		return sqlitestore.Open(ctx, path)
	case strings.HasPrefix(uri, "mongodb://"), strings.HasPrefix(uri, "mongodb+srv://"):
		return mongostore.Open(ctx, uri, &mongostore.Options{Logger: log})
	}
	return nil, fmt.Errorf("-audit %q: want mongodb://..., sqlite:PATH or none", uri)
}

// openAudit opens the audit store named by uri and returns the recorder
// (a Batcher over the store, nil for "none") and the function that
// flushes and closes it. A MongoDB server that is down does not stop the
// start: the recorder buffers, counts what it drops, and catches up.
func openAudit(ctx context.Context, uri, state string, log *slog.Logger) (audit.Recorder, func(context.Context) error, error) {
	b, err := openBackend(ctx, uri, state, log)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: %w", err)
	}
	if b == nil {
		return nil, func(context.Context) error { return nil }, nil
	}
	rec := audit.NewBatcher(b, &audit.BatcherOptions{Logger: log})
	closeFn := func(ctx context.Context) error {
		err := rec.Close(ctx)
		if st := rec.Stats(); st.DroppedQueue+st.DroppedPending > 0 {
			log.Warn("audit: events dropped", "queue", st.DroppedQueue, "pending", st.DroppedPending)
		}
		if c, ok := b.(interface{ Sanitized() audit.SanitizeCounts }); ok {
			if n := c.Sanitized(); n != (audit.SanitizeCounts{}) {
				log.Warn("audit: documents fixed or rejected", "counts", n)
			}
		}
		return errors.Join(err, b.Close())
	}
	return rec, closeFn, nil
}

// auditName says where audit events go, for the start-up line.
func auditName(uri, state string) string {
	switch {
	case uri == "":
		return "sqlite:" + filepath.Join(state, "audit.db")
	case strings.HasPrefix(uri, "mongodb"):
		return redactURI(uri)
	}
	return uri
}

// redactURI hides the password of a mongodb:// URI.
func redactURI(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return uri
	}
	at := strings.LastIndex(rest, "@")
	if slash := strings.Index(rest, "/"); at < 0 || slash >= 0 && slash < at {
		return uri
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return uri
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
