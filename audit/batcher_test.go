package audit_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
)

var t0 = time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC)

func TestEventID(t *testing.T) {
	tests := []struct {
		e    audit.Event
		want string
	}{
		{audit.Event{Time: t0, Package: "dhcpd", IP: netip.MustParseAddr("10.0.0.7")}, "2026-11-24.07:30:00.dhcpd.10.0.0.7"},
		{audit.Event{Time: t0.Add(1500 * time.Millisecond), Package: "tftpd", Ident: "pxelinux.0"}, "2026-11-24.07:30:01.tftpd.pxelinux.0"},
		{audit.Event{Time: t0.In(time.FixedZone("CET", 3600)), Package: "amt"}, "2026-11-24.07:30:00.amt.-"},
	}
	for _, tt := range tests {
		if got := tt.e.ID(); got != tt.want {
			t.Errorf("ID() = %q, want %q", got, tt.want)
		}
	}
}

func TestMerge(t *testing.T) {
	ip := netip.MustParseAddr("10.0.0.7")
	var events []audit.Event
	for i := range 133 {
		events = append(events, audit.Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Package: "syslogd", Action: "line", IP: ip})
	}
	events = append(events, audit.Event{Time: t0.Add(time.Second), Package: "syslogd", Action: "line", IP: ip})
	docs := audit.Merge(events)
	if len(docs) != 2 || len(docs[0].Entries) != 133 || len(docs[1].Entries) != 1 {
		t.Fatalf("Merge gave %d documents, want 2 of 133 and 1 entries", len(docs))
	}
	if docs[0].ID != "2026-11-24.07:30:00.syslogd.10.0.0.7" || docs[0].IP != "10.0.0.7" {
		t.Errorf("first document = %+v", docs[0])
	}
}

// TestBatcherMergesASecond records the lines of one second and checks
// that they reach the backend as one document.
func TestBatcherMergesASecond(t *testing.T) {
	sink := &audittest.Inserter{}
	b := audit.NewBatcher(sink, &audit.BatcherOptions{FlushInterval: 10 * time.Millisecond})
	ctx := context.Background()
	ip := netip.MustParseAddr("10.0.0.7")
	now := time.Now()
	for i := range 133 {
		b.Record(ctx, audit.Event{Time: now, Package: "syslogd", Action: "line", IP: ip, Fields: map[string]any{"n": i}})
	}
	b.Record(ctx, audit.Event{Time: now, Package: "dhcpd", Action: "ack", IP: ip})
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	docs := sink.Documents()
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	for _, d := range docs {
		want := map[string]int{"syslogd": 133, "dhcpd": 1}[d.Package]
		if len(d.Entries) != want {
			t.Errorf("%s document has %d entries, want %d", d.Package, len(d.Entries), want)
		}
	}
	if st := b.Stats(); st.Recorded != 134 || st.Inserted != 2 || st.DroppedQueue != 0 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestBatcherInsertsInIDOrder records the events of many machines over
// several seconds and checks that each Insert has its documents in the
// order of their ids (time first), as the indexes of a backend take them
// best, not in the order of the Batcher's map.
func TestBatcherInsertsInIDOrder(t *testing.T) {
	var mu sync.Mutex
	var batches [][]string
	sink := insertFunc(func(_ context.Context, docs []audit.Document) error {
		ids := make([]string, len(docs))
		for i, d := range docs {
			ids[i] = d.ID
		}
		mu.Lock()
		batches = append(batches, ids)
		mu.Unlock()
		return nil
	})
	b := audit.NewBatcher(sink, &audit.BatcherOptions{BatchSize: 100})
	ctx := context.Background()
	for i := range 1000 {
		m := (i * 7919) % 1000 // each event a machine of its own, out of order
		b.Record(ctx, audit.Event{Time: t0.Add(time.Duration(i%4) * time.Second), Package: "ping", Action: "reply",
			IP: netip.AddrFrom4([4]byte{10, 0, byte(m >> 8), byte(m)})})
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var all []string
	for _, ids := range batches {
		all = append(all, ids...)
	}
	if len(all) != 1000 {
		t.Fatalf("inserted %d documents, want 1000", len(all))
	}
	if !slices.IsSorted(all) {
		t.Errorf("documents not inserted in id order: %q ...", all[:min(len(all), 8)])
	}
}

// TestBatcherFlushesFinishedSeconds checks that documents go to the
// backend once their second is over, without Close.
func TestBatcherFlushesFinishedSeconds(t *testing.T) {
	sink := &audittest.Inserter{}
	b := audit.NewBatcher(sink, &audit.BatcherOptions{FlushInterval: 5 * time.Millisecond})
	defer b.Close(context.Background())
	b.Record(context.Background(), audit.Event{Time: time.Now().Add(-2 * time.Second), Package: "tftpd", Action: "read"})
	deadline := time.Now().Add(10 * time.Second)
	for len(sink.Documents()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a finished second was not flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBatcherNeverBlocks fills a queue whose backend is stuck and checks
// that Record returns at once and counts the drops.
func TestBatcherNeverBlocks(t *testing.T) {
	stuck := make(chan struct{})
	sink := insertFunc(func(ctx context.Context, docs []audit.Document) error {
		select {
		case <-stuck:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	b := audit.NewBatcher(sink, &audit.BatcherOptions{QueueSize: 100, MaxPending: 10, FlushInterval: time.Millisecond})
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				b.Record(ctx, audit.Event{Package: "dhcpd", Action: "discover", Ident: fmt.Sprint(g, i)})
			}
		})
	}
	wg.Wait()
	st := b.Stats()
	if st.Recorded+st.DroppedQueue != 4000 {
		t.Errorf("recorded %d + dropped %d != 4000", st.Recorded, st.DroppedQueue)
	}
	if st.DroppedQueue == 0 && st.DroppedPending == 0 {
		t.Errorf("nothing counted as dropped with a stuck backend: %+v", st)
	}
	close(stuck)
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBatcherRecovers checks that documents wait while the backend is
// down and arrive when it returns.
func TestBatcherRecovers(t *testing.T) {
	sink := &audittest.Inserter{}
	sink.SetErr(errors.New("connection refused"))
	b := audit.NewBatcher(sink, &audit.BatcherOptions{FlushInterval: 5 * time.Millisecond})
	ctx := context.Background()
	for i := range 10 {
		b.Record(ctx, audit.Event{Time: time.Now().Add(-2 * time.Second), Package: "dnsd", Action: "query", Ident: fmt.Sprint(i)})
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Stats().InsertErrors == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the backend was never tried")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sink.SetErr(nil)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(sink.Documents()); got != 10 {
		t.Errorf("%d documents after the backend came back, want 10", got)
	}
	b.Close(ctx)
}

type insertFunc func(ctx context.Context, docs []audit.Document) error

func (f insertFunc) Insert(ctx context.Context, docs []audit.Document) error { return f(ctx, docs) }

// BenchmarkBatcherRecord measures Record from two goroutines into a
// backend that takes everything (the goal is 100,000 events/s and more).
func BenchmarkBatcherRecord(b *testing.B) {
	sink := insertFunc(func(context.Context, []audit.Document) error { return nil })
	rec := audit.NewBatcher(sink, &audit.BatcherOptions{QueueSize: 1 << 20})
	ctx := context.Background()
	ip := netip.MustParseAddr("10.0.0.7")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec.Record(ctx, audit.Event{Package: "dhcpd", Action: "discover", IP: ip})
		}
	})
	b.StopTimer()
	rec.Close(ctx)
	if st := rec.Stats(); st.DroppedQueue > 0 {
		b.ReportMetric(float64(st.DroppedQueue), "dropped")
	}
}
