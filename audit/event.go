package audit

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Event is one thing that happened: a packet received or sent, a file
// transferred, a command run.
type Event struct {
	Time     time.Time  // when it happened; the zero time means now
	Package  string     // the package that saw it: "dhcpd", "tftpd", ...
	Action   string     // what happened: "discover", "ack", "read", ...
	IP       netip.Addr // the client's address, if known
	MAC      net.HardwareAddr
	Hostname string
	// Ident names the subject of the event in its id; when empty the id
	// uses the IP address, then the MAC address, then "-".
	Ident  string
	Fields map[string]any // free fields: file name, bytes, round-trip time, ...
}

// ID returns the id of the document the event belongs to:
// yyyy-mm-dd.HH:MM:SS.package.ident, in UTC, so that ids sort by time.
func (e Event) ID() string {
	t := e.Time.UTC()
	var b strings.Builder
	b.Grow(40)
	b.WriteString(t.Format("2006-01-02.15:04:05"))
	b.WriteByte('.')
	b.WriteString(e.Package)
	b.WriteByte('.')
	b.WriteString(e.ident())
	return b.String()
}

func (e Event) ident() string {
	switch {
	case e.Ident != "":
		return e.Ident
	case e.IP.IsValid():
		return e.IP.String()
	case len(e.MAC) > 0:
		return e.MAC.String()
	}
	return "-"
}

// LogValue implements slog.LogValuer.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("package", e.Package), slog.String("action", e.Action)}
	if e.IP.IsValid() {
		attrs = append(attrs, slog.String("ip", e.IP.String()))
	}
	if len(e.MAC) > 0 {
		attrs = append(attrs, slog.String("mac", e.MAC.String()))
	}
	if e.Hostname != "" {
		attrs = append(attrs, slog.String("hostname", e.Hostname))
	}
	for k, v := range e.Fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	return slog.GroupValue(attrs...)
}

// Recorder records events. Record must not block its caller for long and
// must be safe for concurrent use; a nil Recorder is never called: packages
// that take an optional Recorder check for nil.
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// RecorderFunc adapts a function to a [Recorder].
type RecorderFunc func(ctx context.Context, e Event)

// Record calls f(ctx, e).
func (f RecorderFunc) Record(ctx context.Context, e Event) { f(ctx, e) }

// Record sends e to r when r is not nil, filling in the time when it is
// zero. Packages call it so that a nil Recorder means no audit.
func Record(ctx context.Context, r Recorder, e Event) {
	if r == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.Record(ctx, e)
}

// Entry is one event inside a [Document]: what happened and its free
// fields, at its exact time.
type Entry struct {
	Time   time.Time      `json:"time"`
	Action string         `json:"action"`
	Fields map[string]any `json:"fields,omitempty"`
}

// Document is what a backend stores: the events of one id (one package,
// one subject, one second) merged into entries, the way the original
// PXElator did it.
type Document struct {
	ID       string    `json:"_id"`
	Time     time.Time `json:"time"` // the first event's time
	Package  string    `json:"package"`
	IP       string    `json:"ip,omitempty"`
	MAC      string    `json:"mac,omitempty"`
	Hostname string    `json:"hostname,omitempty"`
	Entries  []Entry   `json:"entries"`
}

// add merges e into d.
func (d *Document) add(e Event) {
	if d.ID == "" {
		d.ID = e.ID()
		d.Time = e.Time
		d.Package = e.Package
	}
	if d.IP == "" && e.IP.IsValid() {
		d.IP = e.IP.String()
	}
	if d.MAC == "" && len(e.MAC) > 0 {
		d.MAC = e.MAC.String()
	}
	if d.Hostname == "" {
		d.Hostname = e.Hostname
	}
	if len(d.Entries) == cap(d.Entries) {
		// Double: append grows a large slice by a quarter, which makes
		// a document of many entries cost five times its size.
		d.Entries = slices.Grow(d.Entries, max(len(d.Entries), 4))
	}
	d.Entries = append(d.Entries, Entry{Time: e.Time, Action: e.Action, Fields: e.Fields})
}

// Merge groups events into documents by id, in the order each id was
// first seen.
func Merge(events []Event) []Document {
	var docs []Document
	at := make(map[string]int)
	for _, e := range events {
		id := e.ID()
		i, ok := at[id]
		if !ok {
			i = len(docs)
			at[id] = i
			docs = append(docs, Document{})
		}
		docs[i].add(e)
	}
	return docs
}

// Inserter stores documents: the write side of an audit backend.
type Inserter interface {
	// Insert stores docs. A document whose id is already stored gets the
	// new entries appended. An error means none or only some were stored;
	// the caller may retry with the same documents.
	Insert(ctx context.Context, docs []Document) error
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("audit: "+format, args...)
}
