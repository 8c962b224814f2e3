package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

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

// auditSettings are the flags of the audit's retention (-audit itself,
// which names the store, is one of the server's own flags).
type auditSettings struct {
	maxAge  ageFlag
	maxSize sizeFlag

	retention audit.Retention // resolved
}

// Default retention: what a disk of a few GiB keeps, a season of boots.
const (
	defaultAuditMaxAge  = 90 * 24 * time.Hour
	defaultAuditMaxSize = 1 << 30
	// auditPruneEvery is how often the retention is enforced.
	auditPruneEvery = 10 * time.Minute
)

func (s *auditSettings) register(fs *flag.FlagSet) {
	s.maxAge, s.maxSize = ageFlag(defaultAuditMaxAge), sizeFlag(defaultAuditMaxSize)
	fs.Var(&s.maxAge, "audit-max-age", "remove audit documents older than `AGE` (e.g. 90d, 36h; 0: keep every age)")
	fs.Var(&s.maxSize, "audit-max-size", "remove the oldest audit documents while they take more than `SIZE` (e.g. 1GiB, 500MB; 0: no bound)")
}

func (s *auditSettings) resolve(set *settings) error {
	s.retention = audit.Retention{MaxAge: time.Duration(s.maxAge), MaxBytes: int64(s.maxSize)}
	return nil
}

func (s *auditSettings) describe(set *settings) string {
	if set.auditURI == "none" {
		return ""
	}
	return "audit kept " + s.describeRetention() + " (-audit-max-age, -audit-max-size), enforced every " + auditPruneEvery.String()
}

func (s *auditSettings) describeRetention() string {
	var b []string
	if s.maxAge != 0 {
		b = append(b, "for "+s.maxAge.String())
	}
	if s.maxSize != 0 {
		b = append(b, "up to "+s.maxSize.String())
	}
	if b == nil {
		return "for ever"
	}
	return strings.Join(b, " and ")
}

// ageFlag is a duration flag that also takes days: 90d.
type ageFlag time.Duration

func (a *ageFlag) String() string {
	d := time.Duration(*a)
	if d != 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// Set implements flag.Value.
func (a *ageFlag) Set(v string) error {
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 16)
		if err != nil {
			return errors.New("want a number of days (90d) or a duration (36h)")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil || d < 0 {
			return errors.New("want a number of days (90d) or a duration (36h)")
		}
	}
	*a = ageFlag(d)
	return nil
}

// sizeFlag is a byte count flag with units: 500MB, 1GiB.
type sizeFlag int64

var sizeUnits = []struct {
	name string
	n    int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}

func (s *sizeFlag) String() string {
	for _, u := range sizeUnits {
		if int64(*s) >= u.n && int64(*s)%u.n == 0 {
			return strconv.FormatInt(int64(*s)/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(*s), 10)
}

// Set implements flag.Value.
func (s *sizeFlag) Set(v string) error {
	num, mul := v, int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(v, u.name); ok {
			num, mul = n, u.n
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mul {
		return errors.New("want a size such as 1GiB, 500MB or 0")
	}
	*s = sizeFlag(n * mul)
	return nil
}

// openAudit opens the audit store named by uri and returns the recorder
// (a Batcher over the store, nil for "none"), the store for queries (nil
// for "none") and the function that flushes and closes it. The store is
// kept within ret, enforced at once and every auditPruneEvery until it is
// closed. A MongoDB server that is down does not stop the start: the
// recorder buffers, counts what it drops, and catches up.
func openAudit(ctx context.Context, uri, state string, ret audit.Retention, log *slog.Logger) (audit.Recorder, audit.Querier, func(context.Context) error, error) {
	b, err := openBackend(ctx, uri, state, log)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("audit: %w", err)
	}
	if b == nil {
		return nil, nil, func(context.Context) error { return nil }, nil
	}
	rec := audit.NewBatcher(b, &audit.BatcherOptions{Logger: log})
	retain, stopRetain := context.WithCancel(context.Background())
	retained := make(chan struct{})
	go func() {
		defer close(retained)
		audit.Retain(retain, b, ret, auditPruneEvery, log)
	}()
	closeFn := func(ctx context.Context) error {
		stopRetain()
		<-retained
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
	return rec, b, closeFn, nil
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
