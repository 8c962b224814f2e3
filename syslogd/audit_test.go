package syslogd_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/syslogd"
	"github.com/pxelator/pxelator/syslogd/syslogtest"
)

// kernelLine returns the i-th line of a made-up kernel boot log.
func kernelLine(i int) string {
	return fmt.Sprintf("<6>Nov 24 11:30:56 kiosk-01 kernel: [    0.%06d] boot line %d", i*1000, i)
}

func closeBatcher(t *testing.T, b *audit.Batcher) {
	t.Helper()
	if err := b.Close(testContext(t)); err != nil {
		t.Fatal(err)
	}
}

// TestAuditGroupsOneSecond: 133 kernel lines of one machine within one
// second make one audit document with 133 entries; a line of another
// machine in the same second makes its own.
func TestAuditGroupsOneSecond(t *testing.T) {
	ins := &audittest.Inserter{}
	b := audit.NewBatcher(ins, nil)
	h := syslogd.AuditHandler(b, nil)
	kiosk := &pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0x0a, 0x3d}, IP: netip.MustParseAddr("10.0.0.7"), Hostname: "kiosk-01"}
	kiosk.SetSecret("amt.password", "hunter2")
	second := time.Date(2026, 11, 24, 11, 30, 56, 0, time.UTC)
	ctx := context.Background()
	lines := make([]string, 133)
	for i := range lines {
		lines[i] = kernelLine(i)
	}
	for i, m := range parseLines(t, lines...) {
		m.Received = second.Add(time.Duration(i) * 5 * time.Millisecond)
		m.Source = netip.MustParseAddrPort("10.0.0.7:514")
		m.Machine = kiosk
		h.ServeSyslog(ctx, m)
	}
	other := parseLines(t, "<13>Nov 24 11:30:56 pc t: hello")[0]
	other.Received = second.Add(500 * time.Millisecond)
	other.Source = netip.MustParseAddrPort("10.0.0.8:514")
	h.ServeSyslog(ctx, other)
	closeBatcher(t, b)

	docs := ins.Documents()
	if len(docs) != 2 {
		t.Fatalf("%d documents, want 2: %+v", len(docs), docs)
	}
	byID := map[string]audit.Document{}
	for _, d := range docs {
		byID[d.ID] = d
	}
	d, ok := byID["2026-11-24.11:30:56.syslogd.10.0.0.7"]
	if !ok {
		t.Fatalf("no document for kiosk-01: %v", byID)
	}
	if len(d.Entries) != 133 || d.Hostname != "kiosk-01" || d.MAC != "52:54:00:00:0a:3d" || d.IP != "10.0.0.7" || d.Package != "syslogd" {
		t.Fatalf("kiosk-01 document: %d entries, %q %q %q %q", len(d.Entries), d.Hostname, d.MAC, d.IP, d.Package)
	}
	for i, e := range d.Entries {
		if want := fmt.Sprintf("[    0.%06d] boot line %d", i*1000, i); e.Fields["msg"] != want || e.Fields["facility"] != "kern" || e.Fields["severity"] != "info" {
			t.Fatalf("entry %d: %v, want msg %q kern.info", i, e.Fields, want)
		}
	}
	if s := fmt.Sprint(docs); strings.Contains(s, "hunter2") {
		t.Error("a machine secret reached the audit documents")
	}
	if o := byID["2026-11-24.11:30:56.syslogd.10.0.0.8"]; len(o.Entries) != 1 || o.Entries[0].Fields["msg"] != "hello" {
		t.Errorf("other machine's document: %+v", o)
	}
}

// parseLines returns the messages a server makes of lines sent over TCP;
// the tests then set their time and sender.
func parseLines(t *testing.T, lines ...string) []*syslogd.Message {
	t.Helper()
	ts, rec := startServer(t, &syslogd.Server{})
	c := dial(t, "tcp", ts.TCPAddr)
	write(t, c, strings.Join(lines, "\n")+"\n")
	msgs, err := rec.Wait(testContext(t), len(lines))
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// TestAuditEndToEnd sends 133 kernel lines over TCP to a server whose
// handler records into a Batcher: the lines land in one document per
// second they arrived in, all 133 of them.
func TestAuditEndToEnd(t *testing.T) {
	ins := &audittest.Inserter{}
	b := audit.NewBatcher(ins, nil)
	rec := &syslogtest.Recorder{}
	ts, _ := startServer(t, &syslogd.Server{Store: kioskStore(t), Handler: syslogd.AuditHandler(b, rec)})
	c := dial(t, "tcp", ts.TCPAddr)
	for i := range 133 {
		write(t, c, kernelLine(i)+"\n")
	}
	msgs, err := rec.Wait(testContext(t), 133)
	if err != nil {
		t.Fatal(err)
	}
	closeBatcher(t, b)
	seconds := map[int64]bool{}
	for _, m := range msgs {
		seconds[m.Received.Unix()] = true
	}
	docs := ins.Documents()
	if len(docs) != len(seconds) {
		t.Errorf("%d documents for lines received in %d seconds", len(docs), len(seconds))
	}
	n := 0
	for _, d := range docs {
		if !strings.HasSuffix(d.ID, ".syslogd.127.0.0.1") || d.Hostname != "kiosk-01" {
			t.Errorf("document %s hostname %q", d.ID, d.Hostname)
		}
		n += len(d.Entries)
	}
	if n != 133 {
		t.Errorf("%d entries, want 133", n)
	}
}

func TestAuditMalformed(t *testing.T) {
	rec := &audittest.Recorder{}
	m := parseLines(t, "\xff\x00 garbage")[0]
	syslogd.AuditHandler(rec, nil).ServeSyslog(context.Background(), m)
	evs := rec.Find("syslogd", "log")
	if len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	f := evs[0].Fields
	if f["raw"] != "\uFFFD\x00 garbage" || f["error"] == nil || f["error"] == "" {
		t.Errorf("fields %q, want the raw text as valid UTF-8 and the error", f)
	}
}
