package syslogd

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/pxelator/pxelator/audit"
)

// AuditPackage is the Package of the audit events that [AuditHandler]
// records.
const AuditPackage = "syslogd"

// AuditHandler returns a Handler that records every message as an
// [audit.Event] and then calls next, if not nil. Rec nil means no audit.
//
// Every event of one sender has the same Ident, the sender's IP address,
// and the time the message was received, so an [audit.Batcher] merges the
// lines a machine sends within one second into one document: the 133
// kernel lines of a boot make one document, not 133.
//
// The event's Action is "log"; its fields are the parsed parts of the
// message ("facility", "severity", "host", "app", "pid", "msgid", "time" (a time.Time),
// "sd", "msg"), "net", and for a malformed message "raw" and "error".
// Text is made valid UTF-8; Raw keeps the bytes in the message only.
// Machine attributes, secrets included, are never recorded.
func AuditHandler(rec audit.Recorder, next Handler) Handler {
	return HandlerFunc(func(ctx context.Context, m *Message) {
		if rec != nil {
			audit.Record(ctx, rec, Event(m))
		}
		if next != nil {
			next.ServeSyslog(ctx, m)
		}
	})
}

// Event returns the audit event [AuditHandler] records for m.
func Event(m *Message) audit.Event {
	ip := m.Source.Addr().Unmap()
	e := audit.Event{
		Time:    m.Received,
		Package: AuditPackage,
		Action:  "log",
		IP:      ip,
		Ident:   ip.String(),
		Fields:  make(map[string]any, 8),
	}
	if m.Machine != nil {
		e.MAC = m.Machine.MAC
		e.Hostname = m.Machine.Hostname
	}
	f := e.Fields
	switch m.Network { // constants go into an interface without allocating
	case "tcp":
		f["net"] = "tcp"
	case "udp":
		f["net"] = "udp"
	default:
		f["net"] = m.Network
	}
	if m.Priority >= 0 {
		f["facility"] = facilityNames[m.Facility()]
		f["severity"] = severityNames[m.Severity()]
	}
	set := func(k, v string) {
		if v != "" {
			f[k] = validUTF8(v)
		}
	}
	set("host", m.Hostname)
	set("app", m.AppName)
	set("pid", m.ProcID)
	set("msgid", m.MsgID)
	if !m.Timestamp.IsZero() {
		f["time"] = m.Timestamp
	}
	if len(m.StructuredData) > 0 {
		sd := make(map[string]any, len(m.StructuredData))
		for id, params := range m.StructuredData {
			p := make(map[string]any, len(params))
			for k, v := range params {
				p[validUTF8(k)] = validUTF8(v)
			}
			sd[validUTF8(id)] = p
		}
		f["sd"] = sd
	}
	f["msg"] = validUTF8(m.Text)
	if m.Err != nil {
		f["raw"] = validUTF8(m.Raw)
		f["error"] = m.Err.Error()
	}
	if m.Truncated {
		f["truncated"] = true
	}
	return e
}

// validUTF8 returns s with invalid UTF-8 replaced by U+FFFD.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
