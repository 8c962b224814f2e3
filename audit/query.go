package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Backend is an audit store: it takes documents and answers the queries a
// user needs without writing a database query. The backends live in their
// own packages (audit/sqlitestore, audit/mongostore) so that importing
// audit never pulls a database driver.
type Backend interface {
	Inserter
	Querier
	Pruner
	// Close releases the backend's connections and files.
	Close() error
}

// Querier answers the audit queries. Every backend gives the same answers
// for the same documents; audittest.TestBackend checks that.
type Querier interface {
	// LastSeen reports the newest event of a machine given by its MAC
	// address, IP address or hostname (see [MachineField]). It returns an
	// error wrapping [ErrNotFound] when the machine was never seen.
	LastSeen(ctx context.Context, machine string) (Seen, error)
	// Events returns the documents that match q, newest first, one page
	// at a time.
	Events(ctx context.Context, q EventsQuery) (Page, error)
	// Count counts the events that match q.Filter grouped by the fields
	// q.By (one or two).
	Count(ctx context.Context, q CountQuery) ([]Group, error)
	// Stats sums, counts and averages the numeric field q.Field of the
	// events that match q.Filter, grouped by the fields q.By. Events where
	// the field is missing or not a number are not counted.
	Stats(ctx context.Context, q StatsQuery) ([]Group, error)
}

// ErrNotFound is returned (wrapped) when a query has no answer.
var ErrNotFound = errors.New("audit: not found")

// Seen is the answer of [Querier.LastSeen]: the newest event of a
// machine. The newest document is the one with the latest first-event
// time; its newest entry gives Time and Action.
type Seen struct {
	Time     time.Time
	ID       string // the document id
	Package  string
	Action   string
	IP       string
	MAC      string
	Hostname string
}

// Filter selects documents. The zero Filter selects everything.
type Filter struct {
	Package string    // only this package ("" for any)
	Machine string    // only this MAC, IP or hostname ("" for any)
	Since   time.Time // only documents at or after Since (zero: no bound)
	Until   time.Time // only documents before Until (zero: no bound)
}

// EventsQuery asks for one page of documents, newest first.
type EventsQuery struct {
	Filter
	// Limit is the most documents in the page (default 100, at most
	// 10000).
	Limit int
	// Cursor continues after the page that returned it in Page.Next; ""
	// starts with the newest document.
	Cursor string
}

// Page is one page of documents, newest first.
type Page struct {
	Documents []Document
	// Next is the cursor of the following page, "" when this page is the
	// last.
	Next string
}

// CountQuery counts events grouped by one or two fields.
type CountQuery struct {
	Filter
	By []string // one or two field names, see [CheckField]
}

// StatsQuery sums and counts a numeric field grouped by one or two fields.
type StatsQuery struct {
	Filter
	Field string   // the numeric entry field, e.g. "rtt"
	By    []string // one or two field names, see [CheckField]
}

// Document fields that queries can group by; any other name is a field of
// the entries (Entry.Fields).
const (
	FieldPackage  = "package"
	FieldIP       = "ip"
	FieldMAC      = "mac"
	FieldHostname = "hostname"
	FieldAction   = "action" // the entry's action
)

var fieldName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CheckField reports whether name can be used in a query: one of the
// Field constants or an entry field name of letters, digits, '_' and '-'.
func CheckField(name string) error {
	if !fieldName.MatchString(name) {
		return errorf("field %q: want letters, digits, '_' or '-'", name)
	}
	return nil
}

// CheckBy checks the By fields of a grouped query: one or two valid names.
func CheckBy(by []string) error {
	if len(by) < 1 || len(by) > 2 {
		return errorf("group by %d fields: want one or two", len(by))
	}
	for _, f := range by {
		if err := CheckField(f); err != nil {
			return err
		}
	}
	return nil
}

// IsDocField reports whether name is a field of the document (package, ip,
// mac, hostname) rather than of its entries.
func IsDocField(name string) bool {
	switch name {
	case FieldPackage, FieldIP, FieldMAC, FieldHostname:
		return true
	}
	return false
}

// MachineField says which document field a machine name is matched
// against, and the value in its stored form: "ip" for an IP address,
// "mac" for a MAC address (lower case, colons), "hostname" otherwise.
func MachineField(machine string) (field, value string) {
	if ip, err := netip.ParseAddr(machine); err == nil {
		return FieldIP, ip.String()
	}
	if mac, err := net.ParseMAC(machine); err == nil {
		return FieldMAC, mac.String()
	}
	return FieldHostname, machine
}

// FormatValue formats a stored field value as a group key: "" for a
// missing value, strings as they are, numbers in their shortest form,
// anything else as JSON.
func FormatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case int:
		return strconv.Itoa(v)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Cursor is the position after the last document of a page: backends
// encode it with String and decode it with ParseCursor.
type Cursor struct {
	Time time.Time
	ID   string
}

// String encodes c for Page.Next.
func (c Cursor) String() string {
	return strconv.FormatInt(c.Time.UnixNano(), 10) + "/" + c.ID
}

// ParseCursor decodes a cursor made by Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	ns, id, ok := strings.Cut(s, "/")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || id == "" {
		return Cursor{}, errorf("bad cursor %q", s)
	}
	return Cursor{Time: time.Unix(0, n).UTC(), ID: id}, nil
}

// PageLimit returns the page size for a requested limit: 100 for zero or
// less, at most 10000.
func PageLimit(n int) int {
	if n <= 0 {
		return 100
	}
	return min(n, 10000)
}

// Validate reports what makes q unfit for a backend.
func (q CountQuery) Validate() error { return CheckBy(q.By) }

// Validate reports what makes q unfit for a backend: bad group fields, or
// a Field that is not a numeric entry field.
func (q StatsQuery) Validate() error {
	if err := CheckBy(q.By); err != nil {
		return err
	}
	if err := CheckField(q.Field); err != nil {
		return err
	}
	if IsDocField(q.Field) || q.Field == FieldAction {
		return errorf("%q is not a numeric entry field", q.Field)
	}
	return nil
}

// NewPage returns the page of docs, newest first, that a backend read
// with one document more than limit: that extra document, when present,
// is cut and makes the cursor of the next page.
func NewPage(docs []Document, limit int) Page {
	p := Page{Documents: docs}
	if len(docs) > limit {
		p.Documents = docs[:limit]
		last := p.Documents[limit-1]
		p.Next = Cursor{Time: last.Time, ID: last.ID}.String()
	}
	return p
}

// SeenIn returns what [Querier.LastSeen] reports for d, the newest
// document of a machine: its newest entry's time and action.
func SeenIn(d Document) Seen {
	s := Seen{Time: d.Time, ID: d.ID, Package: d.Package, IP: d.IP, MAC: d.MAC, Hostname: d.Hostname}
	for i, e := range d.Entries {
		if i == 0 || e.Time.After(s.Time) {
			s.Time, s.Action = e.Time, e.Action
		}
	}
	return s
}
