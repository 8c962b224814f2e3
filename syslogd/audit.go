package syslogd

import (
	"context"
	"maps"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
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
	var last atomic.Pointer[header]
	return HandlerFunc(func(ctx context.Context, m *Message) {
		if rec != nil {
			audit.Record(ctx, rec, event(m, &last))
		}
		if next != nil {
			next.ServeSyslog(ctx, m)
		}
	})
}

// Event returns the audit event [AuditHandler] records for m.
func Event(m *Message) audit.Event { return event(m, nil) }

// header holds the fields of a message's header as an event holds them.
// The lines of one program on one machine have the same header, often to
// the second: their events start from a copy of one header's fields,
// which is quicker than making them anew for every line, and share the
// values.
type header struct {
	ip                    netip.Addr
	network               string
	priority              int
	host, app, pid, msgid string
	time                  time.Time
	ident                 string
	// fields are "net", "facility", "severity", "host", "app", "pid",
	// "msgid" and "time", those m has; never changed once made.
	fields map[string]any
}

func newHeader(m *Message, ip netip.Addr) *header {
	h := &header{ip: ip, network: m.Network, priority: m.Priority, host: m.Hostname, app: m.AppName,
		pid: m.ProcID, msgid: m.MsgID, time: m.Timestamp, ident: ip.String(), fields: make(map[string]any, 8)}
	f := h.fields
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
	for _, kv := range [...][2]string{{"host", m.Hostname}, {"app", m.AppName}, {"pid", m.ProcID}, {"msgid", m.MsgID}} {
		if kv[1] != "" {
			f[kv[0]] = validUTF8(kv[1])
		}
	}
	if !m.Timestamp.IsZero() {
		f["time"] = m.Timestamp
	}
	return h
}

// of reports whether h is the header of m, sent from ip. Times must be
// the same value, location included, not just the same instant.
func (h *header) of(m *Message, ip netip.Addr) bool {
	return h.ip == ip && h.network == m.Network && h.priority == m.Priority && h.host == m.Hostname &&
		h.app == m.AppName && h.pid == m.ProcID && h.msgid == m.MsgID && h.time == m.Timestamp
}

// event returns the audit event for m, starting from the header of the
// last event when it is m's; last nil means no sharing.
func event(m *Message, last *atomic.Pointer[header]) audit.Event {
	ip := m.Source.Addr().Unmap()
	var h *header
	if last != nil {
		h = last.Load()
	}
	if h == nil || !h.of(m, ip) {
		h = newHeader(m, ip)
		if last != nil {
			last.Store(h)
		}
	}
	f := h.fields
	if last != nil {
		f = maps.Clone(f) // the header's own stays as it is for the next
	}
	e := audit.Event{
		Time:    m.Received,
		Package: AuditPackage,
		Action:  "log",
		IP:      ip,
		Ident:   h.ident,
		Fields:  f,
	}
	if m.Machine != nil {
		e.MAC = m.Machine.MAC
		e.Hostname = m.Machine.Hostname
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
