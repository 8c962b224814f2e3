package syslogd

import (
	"context"
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

// header holds the field values of a message's header as an event holds
// them. The lines of one program on one machine have the same header,
// often to the second: their events share one header's values, which
// spares making them anew for every line and keeping a copy in every
// entry.
type header struct {
	ip                    netip.Addr
	host, app, pid, msgid string
	time                  time.Time
	ident                 string
	// the values of the fields "host", "app", "pid", "msgid" and "time";
	// nil where the message has none
	values [5]any
}

// headerKeys are the field names of header.values.
var headerKeys = [5]string{"host", "app", "pid", "msgid", "time"}

func newHeader(m *Message, ip netip.Addr) *header {
	h := &header{ip: ip, host: m.Hostname, app: m.AppName, pid: m.ProcID, msgid: m.MsgID, time: m.Timestamp, ident: ip.String()}
	for i, v := range [4]string{m.Hostname, m.AppName, m.ProcID, m.MsgID} {
		if v != "" {
			h.values[i] = validUTF8(v)
		}
	}
	if !m.Timestamp.IsZero() {
		h.values[4] = m.Timestamp
	}
	return h
}

// of reports whether h is the header of m, sent from ip. Times must be
// the same value, location included, not just the same instant.
func (h *header) of(m *Message, ip netip.Addr) bool {
	return h.ip == ip && h.host == m.Hostname && h.app == m.AppName && h.pid == m.ProcID &&
		h.msgid == m.MsgID && h.time == m.Timestamp
}

// event returns the audit event for m, with the header values of the
// last event when they are m's; last nil means no sharing.
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
	e := audit.Event{
		Time:    m.Received,
		Package: AuditPackage,
		Action:  "log",
		IP:      ip,
		Ident:   h.ident,
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
	for i, v := range h.values {
		if v != nil {
			f[headerKeys[i]] = v
		}
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
