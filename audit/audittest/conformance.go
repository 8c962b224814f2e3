package audittest

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// T0 is the base time of the conformance documents. Times are whole
// milliseconds, the precision MongoDB keeps.
var T0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return T0.Add(time.Duration(ms) * time.Millisecond) }

var (
	kioskMAC = net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x0a, 0x01}
	kioskIP  = netip.MustParseAddr("10.0.0.11")
	amtIP    = netip.MustParseAddr("10.0.0.21")
	amtIP2   = netip.MustParseAddr("10.0.0.22")
	pingA    = netip.MustParseAddr("10.0.0.31")
	pingB    = netip.MustParseAddr("10.0.0.32")
)

// Events returns the events every backend is tested with: a kiosk
// booting (dhcpd, tftpd, syslogd), AMT power states of two machines and
// ping round-trip times of two machines, over ten seconds from T0.
func Events() []audit.Event {
	ev := []audit.Event{
		{Time: at(1000), Package: "dhcpd", Action: "discover", MAC: kioskMAC, Fields: map[string]any{"xid": 17}},
		{Time: at(1250), Package: "dhcpd", Action: "ack", MAC: kioskMAC, IP: kioskIP, Hostname: "kiosk-01"},
		{Time: at(2100), Package: "tftpd", Action: "read", IP: kioskIP, Fields: map[string]any{"file": "pxelinux.0", "bytes": 42000}},
		{Time: at(6500), Package: "dhcpd", Action: "renew", MAC: kioskMAC, IP: kioskIP, Hostname: "kiosk-01"},
	}
	for i := range 5 {
		ev = append(ev, audit.Event{Time: at(3000 + 10*i), Package: "syslogd", Action: "kern", IP: kioskIP,
			Hostname: "kiosk-01", Fields: map[string]any{"msg": "line " + string(rune('a'+i))}})
	}
	for i, st := range []string{"on", "on", "off", "on", "sleep"} {
		ev = append(ev, audit.Event{Time: at(1000 * (i + 1)), Package: "amt", Action: "power", IP: amtIP,
			Fields: map[string]any{"power_state": st}})
	}
	for i, st := range []string{"off", "off", "on"} {
		ev = append(ev, audit.Event{Time: at(1000*(i+1) + 500), Package: "amt", Action: "power", IP: amtIP2,
			Fields: map[string]any{"power_state": st}})
	}
	for i, rtt := range []any{1.5, 2.5, 3.0, "timeout", true, 4} {
		ev = append(ev, audit.Event{Time: at(1000*i + 100), Package: "ping", Action: "reply", IP: pingA,
			Fields: map[string]any{"rtt": rtt}})
	}
	for i, rtt := range []float64{10, 20} {
		ev = append(ev, audit.Event{Time: at(1000*i + 200), Package: "ping", Action: "reply", IP: pingB,
			Fields: map[string]any{"rtt": rtt}})
	}
	// Two pings of pingB in one second: one document, two entries.
	ev = append(ev, audit.Event{Time: at(1300), Package: "ping", Action: "reply", IP: pingB,
		Fields: map[string]any{"rtt": 30}})
	return ev
}

// TestBackend runs the conformance suite of an audit backend: open must
// return a new, empty backend each time it is called (it is called once
// per subtest) and arrange for it to be closed.
func TestBackend(t *testing.T, open func(t *testing.T) audit.Backend) {
	t.Run("InsertAppends", func(t *testing.T) { testInsertAppends(t, open(t)) })
	t.Run("LastSeen", func(t *testing.T) { testLastSeen(t, loaded(t, open(t))) })
	t.Run("Events", func(t *testing.T) { testEvents(t, loaded(t, open(t))) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, loaded(t, open(t))) })
	t.Run("Count", func(t *testing.T) { testCount(t, loaded(t, open(t))) })
	t.Run("Stats", func(t *testing.T) { testStats(t, loaded(t, open(t))) })
	t.Run("BadQueries", func(t *testing.T) { testBadQueries(t, loaded(t, open(t))) })
	t.Run("BadDocuments", func(t *testing.T) { testBadDocuments(t, open(t)) })
	t.Run("Batcher", func(t *testing.T) { testBatcher(t, open(t)) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, open(t)) })
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// loaded inserts Events, merged into documents, in two batches, the
// second of which repeats ids of the first.
func loaded(t *testing.T, b audit.Backend) audit.Backend {
	t.Helper()
	ctx := ctxT(t)
	ev := Events()
	// The first event of each id goes in the first insert, the others in
	// the second, so that the backend must append to stored documents.
	var first, second []audit.Event
	seen := make(map[string]bool)
	for _, e := range ev {
		if id := e.ID(); !seen[id] {
			seen[id] = true
			first = append(first, e)
		} else {
			second = append(second, e)
		}
	}
	for _, part := range [][]audit.Event{first, second} {
		if err := b.Insert(ctx, audit.Merge(part)); err != nil {
			t.Fatalf("Insert: %v", err)
		}
	}
	return b
}

// want returns the documents of events as a backend returns them: merged
// and sanitized.
func want(t *testing.T, events []audit.Event) map[string]audit.Document {
	t.Helper()
	var s audit.Sanitizer
	out := make(map[string]audit.Document)
	for _, d := range audit.Merge(events) {
		parts, err := s.Documents(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range parts {
			out[d.ID] = d
		}
	}
	return out
}

func sameDoc(got, want audit.Document) bool {
	if got.ID != want.ID || !got.Time.Equal(want.Time) || got.Package != want.Package ||
		got.IP != want.IP || got.MAC != want.MAC || got.Hostname != want.Hostname ||
		len(got.Entries) != len(want.Entries) {
		return false
	}
	for i, g := range got.Entries {
		w := want.Entries[i]
		if !g.Time.Equal(w.Time) || g.Action != w.Action || len(g.Fields) != len(w.Fields) {
			return false
		}
		if len(g.Fields) > 0 && !reflect.DeepEqual(g.Fields, w.Fields) {
			return false
		}
	}
	return true
}

// all reads every document matching f, following the pages.
func all(t *testing.T, b audit.Backend, f audit.Filter, limit int) []audit.Document {
	t.Helper()
	ctx := ctxT(t)
	var docs []audit.Document
	q := audit.EventsQuery{Filter: f, Limit: limit}
	for range 1000 {
		p, err := b.Events(ctx, q)
		if err != nil {
			t.Fatalf("Events(%+v): %v", q, err)
		}
		docs = append(docs, p.Documents...)
		if p.Next == "" {
			return docs
		}
		q.Cursor = p.Next
	}
	t.Fatalf("Events(%+v): more than 1000 pages", f)
	return nil
}

func testInsertAppends(t *testing.T, b audit.Backend) {
	ctx := ctxT(t)
	ev := []audit.Event{
		{Time: at(1000), Package: "syslogd", Action: "kern", IP: kioskIP, Fields: map[string]any{"msg": "one"}},
		{Time: at(1100), Package: "syslogd", Action: "kern", IP: kioskIP, Hostname: "kiosk-01", Fields: map[string]any{"msg": "two"}},
		{Time: at(1200), Package: "syslogd", Action: "kern", IP: kioskIP, Fields: map[string]any{"msg": "three", "n": 3}},
	}
	for _, e := range ev {
		if err := b.Insert(ctx, audit.Merge([]audit.Event{e})); err != nil {
			t.Fatalf("Insert: %v", err)
		}
	}
	docs := all(t, b, audit.Filter{}, 0)
	w := want(t, ev)[ev[0].ID()]
	if len(docs) != 1 || !sameDoc(docs[0], w) {
		t.Fatalf("after three inserts of one id got\n%+v\nwant\n%+v", docs, w)
	}
	if err := b.Insert(ctx, nil); err != nil {
		t.Errorf("Insert(nil): %v", err)
	}
}

func testLastSeen(t *testing.T, b audit.Backend) {
	ctx := ctxT(t)
	kiosk := audit.Seen{Time: at(6500), ID: "2026-11-24.10:00:06.dhcpd.10.0.0.11", Package: "dhcpd", Action: "renew",
		IP: "10.0.0.11", MAC: "52:54:00:00:0a:01", Hostname: "kiosk-01"}
	tests := []struct {
		machine string
		want    audit.Seen
	}{
		{"kiosk-01", kiosk},
		{"10.0.0.11", kiosk},
		{"52:54:00:00:0a:01", kiosk},
		{"52-54-00-00-0A-01", kiosk},
		{"10.0.0.21", audit.Seen{Time: at(5000), ID: "2026-11-24.10:00:05.amt.10.0.0.21", Package: "amt", Action: "power", IP: "10.0.0.21"}},
		{"10.0.0.32", audit.Seen{Time: at(1300), ID: "2026-11-24.10:00:01.ping.10.0.0.32", Package: "ping", Action: "reply", IP: "10.0.0.32"}},
	}
	for _, tt := range tests {
		got, err := b.LastSeen(ctx, tt.machine)
		if err != nil {
			t.Errorf("LastSeen(%q): %v", tt.machine, err)
			continue
		}
		if !got.Time.Equal(tt.want.Time) {
			t.Errorf("LastSeen(%q).Time = %v, want %v", tt.machine, got.Time, tt.want.Time)
		}
		got.Time = tt.want.Time
		if got != tt.want {
			t.Errorf("LastSeen(%q) = %+v, want %+v", tt.machine, got, tt.want)
		}
	}
	for _, m := range []string{"kiosk-99", "10.9.9.9", "52:54:00:00:00:99", "", "'; DROP TABLE docs; --", `{"$gt": ""}`} {
		if got, err := b.LastSeen(ctx, m); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("LastSeen(%q) = %+v, %v; want ErrNotFound", m, got, err)
		}
	}
}

func testEvents(t *testing.T, b audit.Backend) {
	w := want(t, Events())
	ids := func(docs []audit.Document) []string {
		var out []string
		for _, d := range docs {
			out = append(out, d.ID)
			if !sameDoc(d, w[d.ID]) {
				t.Errorf("document %s:\n got %+v\nwant %+v", d.ID, d, w[d.ID])
			}
		}
		return out
	}
	tests := []struct {
		name string
		f    audit.Filter
		want []string
	}{
		{"kiosk by hostname", audit.Filter{Machine: "kiosk-01"}, []string{
			"2026-11-24.10:00:06.dhcpd.10.0.0.11",
			"2026-11-24.10:00:03.syslogd.10.0.0.11",
			"2026-11-24.10:00:01.dhcpd.10.0.0.11",
		}},
		{"kiosk by IP", audit.Filter{Machine: "10.0.0.11"}, []string{
			"2026-11-24.10:00:06.dhcpd.10.0.0.11",
			"2026-11-24.10:00:03.syslogd.10.0.0.11",
			"2026-11-24.10:00:02.tftpd.10.0.0.11",
			"2026-11-24.10:00:01.dhcpd.10.0.0.11",
		}},
		{"kiosk dhcpd by MAC", audit.Filter{Machine: "52:54:00:00:0A:01", Package: "dhcpd"}, []string{
			"2026-11-24.10:00:06.dhcpd.10.0.0.11",
			"2026-11-24.10:00:01.dhcpd.10.0.0.11",
			"2026-11-24.10:00:01.dhcpd.52:54:00:00:0a:01",
		}},
		{"amt in [2s, 4s)", audit.Filter{Package: "amt", Since: at(2000), Until: at(4000)}, []string{
			"2026-11-24.10:00:03.amt.10.0.0.22",
			"2026-11-24.10:00:03.amt.10.0.0.21",
			"2026-11-24.10:00:02.amt.10.0.0.22",
			"2026-11-24.10:00:02.amt.10.0.0.21",
		}},
		{"ping since 4s", audit.Filter{Package: "ping", Since: at(4000)}, []string{
			"2026-11-24.10:00:05.ping.10.0.0.31",
			"2026-11-24.10:00:04.ping.10.0.0.31",
		}},
		{"nothing", audit.Filter{Package: "wol"}, nil},
		{"until before all", audit.Filter{Until: T0}, nil},
	}
	for _, tt := range tests {
		if got := ids(all(t, b, tt.f, 0)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Events(%+v) = %q, want %q", tt.name, tt.f, got, tt.want)
		}
	}
	docs := all(t, b, audit.Filter{}, 0)
	if len(docs) != len(w) {
		t.Errorf("Events() returned %d documents, want %d", len(docs), len(w))
	}
	for i := 1; i < len(docs); i++ {
		a, c := docs[i-1], docs[i]
		if a.Time.Before(c.Time) || a.Time.Equal(c.Time) && a.ID <= c.ID {
			t.Errorf("Events() order: %s (%v) before %s (%v)", a.ID, a.Time, c.ID, c.Time)
		}
	}
}

func testPaging(t *testing.T, b audit.Backend) {
	whole := all(t, b, audit.Filter{}, 1000)
	for _, limit := range []int{1, 2, 3, 7} {
		paged := all(t, b, audit.Filter{}, limit)
		if len(paged) != len(whole) {
			t.Errorf("limit %d: %d documents, want %d", limit, len(paged), len(whole))
			continue
		}
		for i := range paged {
			if paged[i].ID != whole[i].ID {
				t.Errorf("limit %d: document %d is %s, want %s", limit, i, paged[i].ID, whole[i].ID)
			}
		}
	}
	ctx := ctxT(t)
	p, err := b.Events(ctx, audit.EventsQuery{Limit: 2})
	if err != nil || len(p.Documents) != 2 || p.Next == "" {
		t.Fatalf("Events(limit 2) = %d documents, next %q, %v", len(p.Documents), p.Next, err)
	}
	for _, c := range []string{"garbage", "12/", "/x", "-/-"} {
		if _, err := b.Events(ctx, audit.EventsQuery{Cursor: c}); err == nil {
			t.Errorf("Events(cursor %q): no error", c)
		}
	}
}

func checkGroups(t *testing.T, name string, got, want []audit.Group) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = reflect.DeepEqual(got[i].Key, want[i].Key) && got[i].Count == want[i].Count &&
			math.Abs(got[i].Sum-want[i].Sum) < 1e-9
	}
	if !ok {
		t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
	}
}

func testCount(t *testing.T, b audit.Backend) {
	ctx := ctxT(t)
	tests := []struct {
		name string
		q    audit.CountQuery
		want []audit.Group
	}{
		{"power state per IP", audit.CountQuery{Filter: audit.Filter{Package: "amt"}, By: []string{"ip", "power_state"}}, []audit.Group{
			{Key: []string{"10.0.0.21", "off"}, Count: 1},
			{Key: []string{"10.0.0.21", "on"}, Count: 3},
			{Key: []string{"10.0.0.21", "sleep"}, Count: 1},
			{Key: []string{"10.0.0.22", "off"}, Count: 2},
			{Key: []string{"10.0.0.22", "on"}, Count: 1},
		}},
		{"events per package", audit.CountQuery{By: []string{"package"}}, []audit.Group{
			{Key: []string{"amt"}, Count: 8},
			{Key: []string{"dhcpd"}, Count: 3},
			{Key: []string{"ping"}, Count: 9},
			{Key: []string{"syslogd"}, Count: 5},
			{Key: []string{"tftpd"}, Count: 1},
		}},
		{"kiosk actions", audit.CountQuery{Filter: audit.Filter{Machine: "kiosk-01"}, By: []string{"package", "action"}}, []audit.Group{
			{Key: []string{"dhcpd", "ack"}, Count: 1},
			{Key: []string{"dhcpd", "renew"}, Count: 1},
			{Key: []string{"syslogd", "kern"}, Count: 5},
		}},
		{"rtt values, in [1s, 3s)", audit.CountQuery{Filter: audit.Filter{Package: "ping", Since: at(1000), Until: at(3000)}, By: []string{"rtt"}}, []audit.Group{
			{Key: []string{"2.5"}, Count: 1},
			{Key: []string{"20"}, Count: 1},
			{Key: []string{"3"}, Count: 1},
			{Key: []string{"30"}, Count: 1},
		}},
		{"missing field", audit.CountQuery{Filter: audit.Filter{Package: "tftpd"}, By: []string{"power_state"}}, []audit.Group{
			{Key: []string{""}, Count: 1},
		}},
		{"hostname, missing for some", audit.CountQuery{Filter: audit.Filter{Package: "dhcpd"}, By: []string{"hostname"}}, []audit.Group{
			{Key: []string{""}, Count: 1},
			{Key: []string{"kiosk-01"}, Count: 2},
		}},
		{"nothing", audit.CountQuery{Filter: audit.Filter{Package: "wol"}, By: []string{"ip"}}, nil},
	}
	for _, tt := range tests {
		got, err := b.Count(ctx, tt.q)
		if err != nil {
			t.Errorf("%s: Count: %v", tt.name, err)
			continue
		}
		checkGroups(t, tt.name, got, tt.want)
	}
}

func testStats(t *testing.T, b audit.Backend) {
	ctx := ctxT(t)
	tests := []struct {
		name string
		q    audit.StatsQuery
		want []audit.Group
	}{
		{"rtt per IP", audit.StatsQuery{Filter: audit.Filter{Package: "ping"}, Field: "rtt", By: []string{"ip"}}, []audit.Group{
			{Key: []string{"10.0.0.31"}, Count: 4, Sum: 11},
			{Key: []string{"10.0.0.32"}, Count: 3, Sum: 60},
		}},
		{"rtt per IP and action, since 1s", audit.StatsQuery{Filter: audit.Filter{Package: "ping", Since: at(1000)}, Field: "rtt", By: []string{"ip", "action"}}, []audit.Group{
			{Key: []string{"10.0.0.31", "reply"}, Count: 3, Sum: 9.5},
			{Key: []string{"10.0.0.32", "reply"}, Count: 2, Sum: 50},
		}},
		{"bytes per package", audit.StatsQuery{Field: "bytes", By: []string{"package"}}, []audit.Group{
			{Key: []string{"tftpd"}, Count: 1, Sum: 42000},
		}},
		{"not numeric", audit.StatsQuery{Field: "power_state", By: []string{"ip"}}, nil},
	}
	for _, tt := range tests {
		got, err := b.Stats(ctx, tt.q)
		if err != nil {
			t.Errorf("%s: Stats: %v", tt.name, err)
			continue
		}
		checkGroups(t, tt.name, got, tt.want)
	}
	got, _ := b.Stats(ctx, tests[0].q)
	if len(got) == 2 && (got[0].Avg() != 2.75 || got[1].Avg() != 20) {
		t.Errorf("averages %v, %v; want 2.75, 20", got[0].Avg(), got[1].Avg())
	}
}

func testBadQueries(t *testing.T, b audit.Backend) {
	ctx := ctxT(t)
	for _, by := range [][]string{nil, {"ip", "mac", "hostname"}, {"$where"}, {"a.b"}, {"x'); DROP TABLE docs; --"}, {""}} {
		if _, err := b.Count(ctx, audit.CountQuery{By: by}); err == nil {
			t.Errorf("Count(by %q): no error", by)
		}
	}
	for _, f := range []string{"", "$sum", "ip", "action", "a.b"} {
		if _, err := b.Stats(ctx, audit.StatsQuery{Field: f, By: []string{"ip"}}); err == nil {
			t.Errorf("Stats(field %q): no error", f)
		}
	}
	// The store still answers.
	if _, err := b.LastSeen(ctx, "kiosk-01"); err != nil {
		t.Errorf("LastSeen after bad queries: %v", err)
	}
}

type unencodable struct{ C chan int }

func testBadDocuments(t *testing.T, b audit.Backend) {
	ctx := ctxT(t)
	huge := strings.Repeat("x", audit.MaxStringBytes+100)
	ev := audit.Event{Time: at(1000), Package: "syslogd", Action: "kern\xff", IP: kioskIP, Hostname: "bad\xfe-host",
		Fields: map[string]any{
			"msg":      "invalid \xc3\x28 utf-8",
			"$where":   "1",
			"a.b":      map[string]any{"$gt": 1, "c.d": []any{"x\xff"}},
			"huge":     huge,
			"nan":      math.NaN(),
			"inf":      math.Inf(1),
			"chan":     unencodable{C: make(chan int)},
			"addr":     netip.MustParseAddr("10.1.2.3"),
			"duration": 1500 * time.Millisecond,
		}}
	docs := audit.Merge([]audit.Event{ev})
	// A second of a machine's lines larger than a document may be is
	// stored in two parts, losing nothing but an entry too large by
	// itself.
	tooBig := audit.Merge([]audit.Event{{Time: at(2000), Package: "syslogd", Action: "kern", IP: kioskIP}})[0]
	tooBig.Entries = nil
	lines := audit.MaxDocumentBytes/audit.MaxStringBytes + 2
	for i := range lines {
		tooBig.Entries = append(tooBig.Entries, audit.Entry{Time: at(2000 + i), Action: "kern", Fields: map[string]any{"msg": huge, "n": i}})
	}
	hugeEntry := map[string]any{}
	for i := range audit.MaxDocumentBytes/audit.MaxStringBytes + 1 {
		hugeEntry[string(rune('a'+i%26))+strings.Repeat("k", i/26)] = huge
	}
	tooBig.Entries = append(tooBig.Entries, audit.Entry{Time: at(2500), Action: "kern", Fields: hugeEntry})
	good := audit.Merge([]audit.Event{{Time: at(3000), Package: "syslogd", Action: "kern", IP: kioskIP}})[0]
	batch := []audit.Document{docs[0], {}, tooBig, good}
	if err := b.Insert(ctx, batch); err != nil {
		t.Fatalf("Insert of bad documents: %v", err)
	}
	got := all(t, b, audit.Filter{}, 0)
	var ids []string
	for _, d := range got {
		ids = append(ids, d.ID)
	}
	if len(got) != 4 || got[0].ID != good.ID || got[1].ID != tooBig.ID+audit.PartSeparator+"2" || got[2].ID != tooBig.ID {
		t.Fatalf("stored %q, want the good document, the large one in two parts and the sanitized one", ids)
	}
	n := 0
	for _, part := range got[1:3] {
		if part.Hostname != "" || part.IP != kioskIP.String() || part.Package != "syslogd" {
			t.Errorf("part %s: %+v", part.ID, part)
		}
		for _, e := range part.Entries {
			if e.Fields["msg"] != huge[:audit.MaxStringBytes]+"…" {
				t.Errorf("part %s: entry %v", part.ID, e.Fields["n"])
			}
			n++
		}
	}
	if n != lines || got[1].Entries[0].Fields["n"] != float64(len(got[2].Entries)) || !got[1].Time.Equal(got[1].Entries[0].Time) {
		t.Errorf("%d entries in the parts (%d and %d), want %d in order; part 2 at %v",
			n, len(got[2].Entries), len(got[1].Entries), lines, got[1].Time)
	}
	d := got[3]
	if d.Hostname != "bad\uFFFD-host" || d.Entries[0].Action != "kern\uFFFD" {
		t.Errorf("hostname %q, action %q: want invalid UTF-8 replaced", d.Hostname, d.Entries[0].Action)
	}
	f := d.Entries[0].Fields
	wantFields := map[string]any{
		"msg":      "invalid \uFFFD( utf-8",
		"_where":   "1",
		"a_b":      map[string]any{"_gt": 1.0, "c_d": []any{"x\uFFFD"}},
		"huge":     huge[:audit.MaxStringBytes] + "…",
		"nan":      "NaN",
		"inf":      "+Inf",
		"addr":     "10.1.2.3",
		"duration": 1.5e9,
	}
	for k, w := range wantFields {
		if !reflect.DeepEqual(f[k], w) {
			g := f[k]
			if s, ok := g.(string); ok && len(s) > 100 {
				g = s[:50] + "..." + s[len(s)-50:]
			}
			t.Errorf("field %q = %#v, want %#v", k, g, w)
		}
	}
	if s, ok := f["chan"].(string); !ok || s == "" {
		t.Errorf("field chan = %#v, want its text", f["chan"])
	}
	if c, ok := b.(interface{ Sanitized() audit.SanitizeCounts }); ok {
		n := c.Sanitized()
		if n.Rejected != 2 || n.Split != 1 || n.InvalidUTF8 != 1 || n.Keys != 1 || n.Truncated != 2 || n.Unencodable != 1 {
			t.Errorf("Sanitized() = %+v; want 2 rejected (a document without id, an entry too large), 1 split, 1 each fixed (2 truncated)", n)
		}
	}
	// The sanitized field names answer queries.
	gs, err := b.Count(ctx, audit.CountQuery{Filter: audit.Filter{Package: "syslogd"}, By: []string{"_where"}})
	if err != nil {
		t.Fatal(err)
	}
	checkGroups(t, "count by _where", gs, []audit.Group{{Key: []string{""}, Count: 1 + int64(lines)}, {Key: []string{"1"}, Count: 1}})
}

func testBatcher(t *testing.T, b audit.Backend) {
	ctx := ctxT(t)
	bat := audit.NewBatcher(b, &audit.BatcherOptions{FlushInterval: 10 * time.Millisecond})
	for _, e := range Events() {
		audit.Record(ctx, bat, e)
	}
	if err := bat.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if st := bat.Stats(); st.DroppedQueue+st.DroppedPending != 0 {
		t.Fatalf("batcher dropped events: %+v", st)
	}
	w := want(t, Events())
	docs := all(t, b, audit.Filter{}, 0)
	if len(docs) != len(w) {
		t.Fatalf("%d documents through the batcher, want %d", len(docs), len(w))
	}
	for _, d := range docs {
		if !sameDoc(d, w[d.ID]) {
			t.Errorf("document %s:\n got %+v\nwant %+v", d.ID, d, w[d.ID])
		}
	}
	gs, err := b.Stats(ctx, audit.StatsQuery{Filter: audit.Filter{Package: "ping"}, Field: "rtt", By: []string{"ip"}})
	if err != nil {
		t.Fatal(err)
	}
	checkGroups(t, "rtt per IP", gs, []audit.Group{
		{Key: []string{"10.0.0.31"}, Count: 4, Sum: 11},
		{Key: []string{"10.0.0.32"}, Count: 3, Sum: 60},
	})
}

// testRetention: Prune removes what is older than MaxAge, then the oldest
// until the documents take at most MaxBytes, and keeps the rest.
func testRetention(t *testing.T, b audit.Backend) {
	ctx := ctxT(t)
	now := time.Now().Truncate(time.Millisecond)
	line := strings.Repeat("a kernel line of a booting machine ", 300) // about 10 KB
	var docs []audit.Document
	for i := range 200 {
		age := time.Duration(i) * time.Minute // 0 to 199 minutes old
		if i >= 100 {
			age += 24 * time.Hour // half of them a day older
		}
		docs = append(docs, audit.Merge([]audit.Event{{Time: now.Add(-age), Package: "syslogd", Action: "kern",
			IP: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Fields: map[string]any{"msg": line}}})...)
	}
	for i := 0; i < len(docs); i += 50 {
		if err := b.Insert(ctx, docs[i:i+50]); err != nil {
			t.Fatal(err)
		}
	}
	kept := func() []audit.Document {
		t.Helper()
		return all(t, b, audit.Filter{}, 0)
	}
	// The zero Retention removes nothing and measures.
	p, err := b.Prune(ctx, audit.Retention{})
	if err != nil || p.Documents != 0 || p.Bytes < 200*int64(len(line)/2) {
		t.Fatalf("Prune(no retention) = %+v, %v; want nothing removed, at least %d bytes", p, err, 200*len(line)/2)
	}
	if p, err = b.Prune(ctx, audit.Retention{MaxAge: 12 * time.Hour}); err != nil || p.Documents != 100 {
		t.Fatalf("Prune(12h) = %+v, %v; want 100 removed", p, err)
	}
	got := kept()
	if len(got) != 100 || now.Sub(got[len(got)-1].Time) > 12*time.Hour {
		t.Fatalf("%d documents after Prune(12h), the oldest of %v", len(got), got[len(got)-1].Time)
	}
	max := p.Bytes / 2
	if p, err = b.Prune(ctx, audit.Retention{MaxBytes: max}); err != nil || p.Documents < 10 || p.Documents > 90 || p.Bytes > max {
		t.Fatalf("Prune(MaxBytes %d) = %+v, %v; want half the documents or so removed, at most %d bytes left", max, p, err, max)
	}
	t.Logf("Prune(MaxBytes %d): %d documents removed, %d bytes left", max, p.Documents, p.Bytes)
	left := kept()
	if int64(len(left)) != 100-p.Documents {
		t.Fatalf("%d documents left after removing %d of 100", len(left), p.Documents)
	}
	for i, d := range left { // the newest are kept
		if d.ID != got[i].ID {
			t.Fatalf("document %d after Prune(MaxBytes) is %s, want %s: the oldest go first", i, d.ID, got[i].ID)
		}
	}
	// Within the bounds, nothing more goes.
	if p, err := b.Prune(ctx, audit.Retention{MaxAge: 12 * time.Hour, MaxBytes: max}); err != nil || p.Documents != 0 {
		t.Errorf("Prune within the bounds = %+v, %v; want nothing removed", p, err)
	}
}
