package syslogd

import (
	"context"
	"log/slog"
)

// A Handler serves syslog messages. ServeSyslog is called for every
// message, malformed ones included, in the order received, from one
// goroutine per TCP connection and one per UDP socket: it should return
// quickly (a slow handler slows a TCP sender down and makes UDP messages
// be dropped and counted). It may keep m but must not modify m.Machine.
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
