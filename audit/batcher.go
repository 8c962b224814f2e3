package audit

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BatcherOptions tunes a [Batcher]. The zero value gives the defaults.
type BatcherOptions struct {
	// QueueSize bounds the events waiting to be merged (default 65536),
	// which the Batcher takes every 10 ms, or when it is half full.
	// Record drops and counts an event that does not fit.
	QueueSize int
	// MaxPending bounds the documents held while the backend does not
	// take them (default 100000). Older documents are dropped and counted
	// when it is exceeded.
	MaxPending int
	// BatchSize is the most documents sent in one Insert (default 5000:
	// fewer, larger transactions cost the backend less per document).
	BatchSize int
	// FlushInterval is how often finished documents are sent (default
	// 250ms). A document is finished when the second of its id is over.
	FlushInterval time.Duration
	// Logger receives backend errors; nil means slog.Default().
	Logger *slog.Logger
	// now is the clock, for tests.
	now func() time.Time
}

// Stats counts what a [Batcher] did with the events it was given.
type Stats struct {
	Recorded       uint64 // events accepted by Record
	DroppedQueue   uint64 // events dropped because the queue was full
	DroppedPending uint64 // documents dropped because the backend fell behind
	Inserted       uint64 // documents the backend took
	InsertErrors   uint64 // failed Insert calls
	Pending        int    // documents waiting for the backend now
}

// Batcher is the asynchronous [Recorder] that stands between the protocol
// packages and a backend. Record never blocks: events go into a bounded
// queue; a goroutine merges the events of one id (one package, one
// subject, one second) into one [Document] and inserts finished documents
// in batches, retrying with backoff while the backend is down.
type Batcher struct {
	sink  Inserter
	opts  BatcherOptions
	queue chan Event
	wake  chan struct{} // a queue more than half full wants taking now
	log   *slog.Logger

	recorded, droppedQueue, droppedPending, inserted, insertErrors atomic.Uint64
	pending                                                        atomic.Int64

	closeOnce sync.Once
	closing   chan struct{}
	done      chan struct{}
	flushReq  chan chan struct{}
}

// NewBatcher starts a Batcher that inserts into sink. Call Close to flush
// and stop it.
func NewBatcher(sink Inserter, opts *BatcherOptions) *Batcher {
	var o BatcherOptions
	if opts != nil {
		o = *opts
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 1 << 16
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 100000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 250 * time.Millisecond
	}
	if o.now == nil {
		o.now = time.Now
	}
	b := &Batcher{
		sink:     sink,
		opts:     o,
		queue:    make(chan Event, o.QueueSize),
		wake:     make(chan struct{}, 1),
		log:      o.Logger,
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
		flushReq: make(chan chan struct{}),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	go b.run()
	return b
}

// Record queues e without blocking. When the queue is full, e is dropped
// and counted in Stats.DroppedQueue.
func (b *Batcher) Record(ctx context.Context, e Event) {
	if e.Time.IsZero() {
		e.Time = b.opts.now()
	}
	select {
	case b.queue <- e:
		b.recorded.Add(1)
	default:
		b.droppedQueue.Add(1)
	}
	if len(b.queue) > cap(b.queue)/2 {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

// Stats returns the counters.
func (b *Batcher) Stats() Stats {
	return Stats{
		Recorded:       b.recorded.Load(),
		DroppedQueue:   b.droppedQueue.Load(),
		DroppedPending: b.droppedPending.Load(),
		Inserted:       b.inserted.Load(),
		InsertErrors:   b.insertErrors.Load(),
		Pending:        int(b.pending.Load()),
	}
}

// Flush sends every queued event to the backend now, finished second or
// not, and returns when the backend took them or ctx is done.
func (b *Batcher) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case b.flushReq <- ack:
	case <-b.done:
		return errorf("flush: batcher closed")
	case <-ctx.Done():
		return errorf("flush: %w", ctx.Err())
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return errorf("flush: %w", ctx.Err())
	}
}

// Close stops accepting events, inserts what is queued and pending, and
// returns when done or when ctx is done; what could not be inserted by
// then is counted as dropped.
func (b *Batcher) Close(ctx context.Context) error {
	b.closeOnce.Do(func() { close(b.closing) })
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		<-b.done
		return errorf("close: %w", ctx.Err())
	}
}

// batchState is the run goroutine's own: documents being merged, and
// finished documents waiting for the backend.
type batchState struct {
	open  map[string]*Document
	ready []Document
	// last is the open document the last event went to, and lastSec and
	// lastIdent the second and subject of its id: a run of events of one
	// id, a machine's lines in one second, is merged without making the
	// id of every event.
	last      *Document
	lastSec   int64
	lastIdent string
	// sizes holds how many entries the last finished document of a
	// package and subject had, so that the next one is made that big at
	// once: a machine that sends much sends much the next second too.
	sizes map[string]int
}

// maxSizes bounds batchState.sizes; it is emptied when full.
const maxSizes = 1 << 12

// subject returns the part of a document id after the time:
// "package.ident".
func subject(id string) string { return id[len("2006-01-02.15:04:05."):] }

func (b *Batcher) run() {
	defer close(b.done)
	st := batchState{open: make(map[string]*Document), sizes: make(map[string]int)}
	tick := time.NewTicker(b.opts.FlushInterval)
	defer tick.Stop()
	// The queue is taken in turns rather than event by event: a recorder
	// on a busy server would otherwise wake this goroutine, and a thread
	// for it, for every packet. A queue more than half full is taken at
	// once.
	drain := time.NewTicker(drainInterval)
	defer drain.Stop()
	backoff := time.Duration(0)
	var retryAt time.Time
	for {
		select {
		case <-drain.C:
			b.drainQueue(&st)
		case <-b.wake:
			b.drainQueue(&st)
		case <-tick.C:
			b.drainQueue(&st)
			b.finish(&st, false)
			if b.opts.now().Before(retryAt) {
				continue
			}
			if b.insert(&st, context.Background()) {
				backoff = 0
				retryAt = time.Time{}
			} else {
				backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
				retryAt = b.opts.now().Add(backoff)
			}
		case ack := <-b.flushReq:
			b.drainQueue(&st)
			b.finish(&st, true)
			b.insert(&st, context.Background())
			close(ack)
		case <-b.closing:
			b.drainQueue(&st)
			b.finish(&st, true)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			for len(st.ready) > 0 && ctx.Err() == nil {
				if !b.insert(&st, ctx) {
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			}
			cancel()
			b.droppedPending.Add(uint64(len(st.ready)))
			b.pending.Store(0)
			return
		}
	}
}

// drainInterval is how often the Batcher takes the events queued: the
// default queue holds far more than a busy server records meanwhile.
const drainInterval = 10 * time.Millisecond

func (b *Batcher) drainQueue(st *batchState) {
	for {
		select {
		case e := <-b.queue:
			b.merge(st, e)
		default:
			return
		}
	}
}

func (b *Batcher) merge(st *batchState, e Event) {
	sec, ident := e.Time.Unix(), e.ident()
	if d := st.last; d != nil && sec == st.lastSec && ident == st.lastIdent && e.Package == d.Package {
		d.add(e)
		return
	}
	id := e.ID()
	d, ok := st.open[id]
	if !ok {
		d = &Document{}
		if n := st.sizes[subject(id)]; n > 0 {
			d.Entries = make([]Entry, 0, n)
		}
		st.open[id] = d
	}
	d.add(e)
	st.last, st.lastSec, st.lastIdent = d, sec, ident
}

// finish moves documents whose second is over (all of them when all is
// set) to the ready list, dropping the oldest beyond MaxPending.
func (b *Batcher) finish(st *batchState, all bool) {
	cutoff := b.opts.now().Truncate(time.Second)
	st.last = nil
	from := len(st.ready)
	for id, d := range st.open {
		if all || d.Time.Before(cutoff) {
			if len(st.sizes) >= maxSizes {
				clear(st.sizes)
			}
			st.sizes[subject(id)] = len(d.Entries)
			st.ready = append(st.ready, *d)
			delete(st.open, id)
		}
	}
	// In the order of their ids, time first, rather than the map's: a
	// backend's indexes by id and by time then take them in order, at
	// their ends, instead of at random pages.
	slices.SortFunc(st.ready[from:], func(x, y Document) int { return strings.Compare(x.ID, y.ID) })
	if over := len(st.ready) - b.opts.MaxPending; over > 0 {
		b.droppedPending.Add(uint64(over))
		st.ready = append(st.ready[:0], st.ready[over:]...)
	}
	b.pending.Store(int64(len(st.ready) + len(st.open)))
}

// insert sends ready documents in batches and reports whether all went.
func (b *Batcher) insert(st *batchState, ctx context.Context) bool {
	for len(st.ready) > 0 {
		n := min(len(st.ready), b.opts.BatchSize)
		if err := b.sink.Insert(ctx, st.ready[:n]); err != nil {
			b.insertErrors.Add(1)
			b.log.Warn("audit: insert failed; keeping documents for a retry", "documents", len(st.ready), "err", err)
			return false
		}
		b.inserted.Add(uint64(n))
		st.ready = st.ready[n:]
		b.pending.Add(-int64(n))
	}
	st.ready = nil
	return true
}
