package syslogd

import (
	"context"
	"log/slog"
)

// A Handler serves syslog messages. ServeSyslog is called for every
// message, malformed ones included, from the goroutine that read it: it
// should return quickly. It may keep m.
type Handler interface {
	ServeSyslog(ctx context.Context, m *Message)
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, m *Message)

// ServeSyslog calls f(ctx, m).
func (f HandlerFunc) ServeSyslog(ctx context.Context, m *Message) { f(ctx, m) }

// LogHandler returns a Handler that logs every message to log at Info
// level (Warn for malformed ones) and then calls next, if not nil.
func LogHandler(log *slog.Logger, next Handler) Handler {
	return HandlerFunc(func(ctx context.Context, m *Message) {
		level := slog.LevelInfo
		if m.Err != nil {
			level = slog.LevelWarn
		}
		log.Log(ctx, level, "syslogd: "+m.Sender(), "syslog", m)
		if next != nil {
			next.ServeSyslog(ctx, m)
		}
	})
}
