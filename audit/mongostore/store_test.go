package mongostore_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/audit/mongostore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
		os.RemoveAll(sharedDir)
	}
	os.Exit(code)
}

var (
	sharedOnce sync.Once
	shared     *ferret
	sharedDir  string
	sharedErr  error
	dbSeq      atomic.Int64
)

// serverURI returns PXELATOR_MONGO_URI, or the URI of a FerretDB that
// the tests of this package share.
func serverURI(t testing.TB) string {
	t.Helper()
	if u := os.Getenv("PXELATOR_MONGO_URI"); u != "" {
		return u
	}
	bin := ferretBinary(t)
	sharedOnce.Do(func() {
		sharedDir, sharedErr = os.MkdirTemp("", "pxelator-ferretdb-")
		if sharedErr == nil {
			shared, sharedErr = startFerret(bin, sharedDir, "127.0.0.1:0")
		}
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared.URI
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// open opens a store on a new database of uri, dropped at the end.
func open(t testing.TB, uri string) *mongostore.Store {
	t.Helper()
	db := fmt.Sprintf("pxelator_test_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := mongostore.Open(ctx, uri, &mongostore.Options{Database: db, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		dropDatabase(uri, db)
	})
	return s
}

func dropDatabase(uri, db string) {
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.Database(db).Drop(ctx)
	c.Disconnect(ctx)
}

func TestConformance(t *testing.T) {
	uri := serverURI(t)
	audittest.TestBackend(t, func(t *testing.T) audit.Backend { return open(t, uri) })
}

func TestOpenBadURI(t *testing.T) {
	for _, uri := range []string{"", "http://x", "mongodb://", "mongodb://a:b:c"} {
		if s, err := mongostore.Open(context.Background(), uri, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q): no error", uri)
		}
	}
}

// TestServerDownAndBack starts with the server down, then stops it once
// more while events are recorded: the recorder keeps the documents and
// they all arrive once the server is back. The store talks to FerretDB
// through a proxy that keeps one address while FerretDB stops and starts
// again on a new port.
func TestServerDownAndBack(t *testing.T) {
	if os.Getenv("PXELATOR_MONGO_URI") != "" {
		t.Skip("needs a FerretDB of its own to stop and start")
	}
	bin := ferretBinary(t)
	dir := t.TempDir()
	p := newProxy(t) // down at start: FerretDB is not running
	var f *ferret
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := mongostore.Open(ctx, p.URI(), &mongostore.Options{Database: "down", Timeout: 2 * time.Second, Logger: quiet()})
	if err != nil {
		t.Fatalf("Open with the server down: %v", err)
	}
	defer s.Close()
	rec := audit.NewBatcher(s, &audit.BatcherOptions{Logger: quiet(), FlushInterval: 20 * time.Millisecond})
	defer rec.Close(context.Background())

	events := audittest.Events()
	half := len(events) / 2
	for _, e := range events[:half] {
		audit.Record(ctx, rec, e)
	}
	rec.Flush(ctx)
	if st := rec.Stats(); st.InsertErrors == 0 || st.Pending == 0 {
		t.Fatalf("server down: stats %+v, want insert errors and pending documents", st)
	}
	if _, err := s.LastSeen(ctx, "kiosk-01"); err == nil {
		t.Fatal("LastSeen with the server down: no error")
	}

	restart := func() {
		t.Helper()
		var err error
		f, err = startFerret(bin, dir, "127.0.0.1:0")
		if err != nil {
			t.Fatalf("starting FerretDB: %v", err)
		}
		t.Cleanup(f.stop)
		u, err := url.Parse(f.URI)
		if err != nil {
			t.Fatal(err)
		}
		p.setTarget(u.Host)
	}
	drained := func() {
		t.Helper()
		for ctx.Err() == nil {
			rec.Flush(ctx)
			if rec.Stats().Pending == 0 {
				return
			}
		}
		t.Fatalf("documents still pending: %+v", rec.Stats())
	}
	restart()
	drained()
	if seen, err := s.LastSeen(ctx, "10.0.0.21"); err != nil || seen.Package != "amt" {
		t.Fatalf("LastSeen after the server came back: %+v, %v", seen, err)
	}

	f.stop() // goes away while running
	p.setTarget("")
	errsBefore := rec.Stats().InsertErrors
	for _, e := range events[half:] {
		audit.Record(ctx, rec, e)
	}
	rec.Flush(ctx)
	if st := rec.Stats(); st.InsertErrors == errsBefore {
		t.Fatalf("server gone: stats %+v, want more insert errors", st)
	}
	restart()
	drained()

	st := rec.Stats()
	if st.DroppedQueue+st.DroppedPending != 0 {
		t.Fatalf("dropped documents: %+v", st)
	}
	gs, err := s.Stats(ctx, audit.StatsQuery{Filter: audit.Filter{Package: "ping"}, Field: "rtt", By: []string{"ip"}})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, g := range gs {
		n += g.Count
	}
	if n != 7 {
		t.Errorf("rtt samples after two outages: %d (%+v), want 7", n, gs)
	}
}

func TestIndexes(t *testing.T) {
	uri := serverURI(t)
	s := open(t, uri)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Insert(ctx, audit.Merge(audittest.Events())); err != nil {
		t.Fatal(err)
	}
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(ctx)
	db := fmt.Sprintf("pxelator_test_%d_%d", os.Getpid(), dbSeq.Load())
	specs, err := c.Database(db).Collection("audit").Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, sp := range specs {
		have[sp.Name] = true
	}
	for _, want := range []string{"time", "package_time", "ip_time", "mac_time", "hostname_time"} {
		if !have[want] {
			t.Errorf("index %s missing; have %v", want, have)
		}
	}
}
