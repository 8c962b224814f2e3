package dhcpd

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// logEvery is how often a log line that packets can cause is written at
// most: a flood of bad or refused packets costs one line per logEvery,
// which says how many were not logged.
const logEvery = 10 * time.Second

// throttle rate-limits one kind of log line: it lets a line through at
// most once per logEvery and counts the ones it held back. The zero
// throttle lets the first line through.
type throttle struct {
	last atomic.Int64  // unix nanoseconds of the last line let through
	held atomic.Uint64 // lines held back since
}

// log writes the line to l unless one went out less than logEvery ago;
// the line says how many were held back before it.
func (t *throttle) log(l *slog.Logger, level slog.Level, msg string, args ...any) {
	now := time.Now().UnixNano()
	last := t.last.Load()
	if last != 0 && now-last < int64(logEvery) || !t.last.CompareAndSwap(last, now) {
		t.held.Add(1)
		return
	}
	if n := t.held.Swap(0); n > 0 {
		args = append(args, "not_logged", n)
	}
	l.Log(context.Background(), level, msg, args...)
}
