package main

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
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
		rec, closeFn, err := openAudit(ctx, tt.uri, conf, log)
		if err != nil || rec == nil {
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
	rec, closeFn, err := openAudit(ctx, "none", conf, log)
	if err != nil || rec != nil || closeFn(ctx) != nil {
		t.Errorf("openAudit(none) = %v, %v", rec, err)
	}
	for _, bad := range []string{"sqlite:", "postgres://x", "mongodb://a:b:c/"} {
		if _, _, err := openAudit(ctx, bad, conf, log); err == nil {
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
