package audit_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
)

func TestPruneCount(t *testing.T) {
	for _, tt := range []struct{ count, used, max, want int64 }{
		{100, 1000, 500, 51},               // half the bytes: half the documents, and one
		{100, 1000, 1000, 0},               // within the bound
		{0, 1000, 10, 0},                   // nothing to remove
		{10, 1000, 999, 1},                 // at least one
		{1e7, 1e10, 1e9, audit.PruneBatch}, // at most a batch
	} {
		if got := audit.PruneCount(tt.count, tt.used, tt.max); got != tt.want {
			t.Errorf("PruneCount(%d, %d, %d) = %d, want %d", tt.count, tt.used, tt.max, got, tt.want)
		}
	}
}

type countingPruner struct{ calls atomic.Int32 }

func (p *countingPruner) Prune(ctx context.Context, r audit.Retention) (audit.Pruned, error) {
	p.calls.Add(1)
	return audit.Pruned{Documents: 1}, nil
}

// TestRetain: Retain prunes at once and then every interval, until its
// context is done; the zero Retention prunes nothing.
func TestRetain(t *testing.T) {
	p := &countingPruner{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		audit.Retain(ctx, p, audit.Retention{MaxAge: time.Hour}, time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	for p.calls.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	zero := &countingPruner{}
	audit.Retain(context.Background(), zero, audit.Retention{}, time.Millisecond, nil)
	if n := zero.calls.Load(); n != 0 {
		t.Errorf("the zero Retention pruned %d times", n)
	}
}
