package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/sqlitestore"
)

func TestOpenAudit(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conf := t.TempDir()
	other := filepath.Join(t.TempDir(), "a", "audit.sqlite")
	tests := []struct {
		uri, file string
	}{
		{"", filepath.Join(conf, "audit.db")},
		{"sqlite:" + other, other},
	}
	for _, tt := range tests {
		rec, query, closeFn, err := openAudit(ctx, tt.uri, conf, audit.Retention{}, log)
		if err != nil || rec == nil || query == nil {
			t.Fatalf("openAudit(%q) = %v, %v", tt.uri, rec, err)
		}
		audit.Record(ctx, rec, audit.Event{Package: "dhcpd", Action: "ack", IP: netip.MustParseAddr("10.0.0.5"), Hostname: "pc-5"})
		if err := closeFn(ctx); err != nil {
			t.Fatalf("close %q: %v", tt.uri, err)
		}
		s, err := sqlitestore.Open(ctx, tt.file)
		if err != nil {
			t.Fatal(err)
		}
		seen, err := s.LastSeen(ctx, "pc-5")
		s.Close()
		if err != nil || seen.Action != "ack" {
			t.Errorf("%q: event not in %s: %+v, %v", tt.uri, tt.file, seen, err)
		}
		if got := auditName(tt.uri, conf); got != "sqlite:"+tt.file {
			t.Errorf("auditName(%q) = %q", tt.uri, got)
		}
	}
	rec, query, closeFn, err := openAudit(ctx, "none", conf, audit.Retention{}, log)
	if err != nil || rec != nil || query != nil || closeFn(ctx) != nil {
		t.Errorf("openAudit(none) = %v, %v", rec, err)
	}
	for _, bad := range []string{"sqlite:", "postgres://x", "mongodb://a:b:c/"} {
		if _, _, _, err := openAudit(ctx, bad, conf, audit.Retention{}, log); err == nil {
			t.Errorf("openAudit(%q): no error", bad)
		}
	}
}

func TestRedactURI(t *testing.T) {
	for in, want := range map[string]string{
		"mongodb://u:secret@h:27017/db": "mongodb://u:xxxxx@h:27017/db",
		"mongodb://h:27017/db?x=a@b":    "mongodb://h:27017/db?x=a@b",
		"mongodb://u@h/":                "mongodb://u@h/",
		"mongodb://h":                   "mongodb://h",
	} {
		if got := redactURI(in); got != want {
			t.Errorf("redactURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAuditRetentionFlags(t *testing.T) {
	set, err := parseFlags([]string{"-server-ip", "10.0.0.1", "-dhcp", "off"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if r := set.audit.retention; r.MaxAge != 90*24*time.Hour || r.MaxBytes != 1<<30 {
		t.Errorf("default retention %+v, want 90 days and 1 GiB", r)
	}
	if d := set.audit.describe(set); !strings.Contains(d, "for 90d and up to 1GiB") {
		t.Errorf("start-up line %q", d)
	}
	for _, tt := range []struct {
		age, size string
		want      audit.Retention
	}{
		{"36h", "500MB", audit.Retention{MaxAge: 36 * time.Hour, MaxBytes: 500e6}},
		{"7d", "2GiB", audit.Retention{MaxAge: 7 * 24 * time.Hour, MaxBytes: 2 << 30}},
		{"0", "0", audit.Retention{}},
	} {
		set, err := parseFlags([]string{"-server-ip", "10.0.0.1", "-dhcp", "off", "-audit-max-age", tt.age, "-audit-max-size", tt.size}, io.Discard)
		if err != nil || set.audit.retention != tt.want {
			t.Errorf("-audit-max-age %s -audit-max-size %s: %+v, %v; want %+v", tt.age, tt.size, set.audit.retention, err, tt.want)
		}
	}
	for _, bad := range [][]string{{"-audit-max-age", "-1h"}, {"-audit-max-age", "ninety"}, {"-audit-max-size", "1XB"}, {"-audit-max-size", "-5"}} {
		if _, err := parseFlags(append([]string{"-server-ip", "10.0.0.1", "-dhcp", "off"}, bad...), io.Discard); err == nil {
			t.Errorf("parseFlags(%q) did not fail", bad)
		}
	}
}

// TestAuditRetention: the server removes what its retention does not
// keep from the audit store it opens.
func TestAuditRetention(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	state := t.TempDir()
	s, err := sqlitestore.Open(ctx, filepath.Join(state, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	old := audit.Event{Time: time.Now().Add(-48 * time.Hour), Package: "dhcpd", Action: "ack", IP: netip.MustParseAddr("10.0.0.5"), Hostname: "pc-5"}
	recent := audit.Event{Time: time.Now(), Package: "dhcpd", Action: "ack", IP: netip.MustParseAddr("10.0.0.6"), Hostname: "pc-6"}
	if err := s.Insert(ctx, audit.Merge([]audit.Event{old, recent})); err != nil {
		t.Fatal(err)
	}
	_, _, closeFn, err := openAudit(ctx, "", state, audit.Retention{MaxAge: 24 * time.Hour}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn(ctx)
	for {
		if _, err := s.LastSeen(ctx, "pc-5"); errors.Is(err, audit.ErrNotFound) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the document of two days ago is still there")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.LastSeen(ctx, "pc-6"); err != nil {
		t.Errorf("the recent document: %v", err)
	}
	s.Close()
}
