package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/audit/sqlitestore"
)

func open(t testing.TB) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "sub", "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	audittest.TestBackend(t, func(t *testing.T) audit.Backend { return open(t) })
}

// TestDocumentsView checks that the view documents shows each row as the
// document the MongoDB backend stores.
func TestDocumentsView(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	s, err := sqlitestore.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Insert(ctx, audit.Merge(audittest.Events()[:2])); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var doc string
	if err := db.QueryRowContext(ctx, "SELECT doc FROM documents WHERE doc ->> '$.hostname' = 'kiosk-01'").Scan(&doc); err != nil {
		t.Fatal(err)
	}
	want := `{"_id":"2026-11-24.10:00:01.dhcpd.10.0.0.11","time":"2026-11-24T10:00:01.250Z","package":{"name":"dhcpd"},` +
		`"ip":"10.0.0.11","mac":"52:54:00:00:0a:01","hostname":"kiosk-01","entries":[{"time":"2026-11-24T10:00:01.25Z","action":"ack"}]}`
	if doc != want {
		t.Errorf("documents view:\n got %s\nwant %s", doc, want)
	}
}
