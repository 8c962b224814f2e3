package serve

import (
	"context"
	"io"
	"sync"
)

// A Tracker is the shutdown state of one server: whether it is closed,
// the listeners, packet connections and connections it serves, the work
// in flight, and the contexts of that work. A server calls [Tracker.Track]
// for every socket it serves and [Tracker.Add] for every other piece of
// work, and its Shutdown calls [Tracker.Shutdown].
//
// The zero value is ready to use. A Tracker must not be copied after
// first use.
type Tracker struct {
	mu      sync.Mutex
	closed  bool // Shutdown was called
	aborted bool // Shutdown canceled the work's contexts
	closers map[io.Closer]struct{}
	cancels map[*context.CancelFunc]struct{}
	wg      sync.WaitGroup // the work in flight
}

// Track registers c, a listener or a connection, to be closed by
// Shutdown, and counts it as work in flight until release is called.
// release forgets c and closes it; it may be called more than once. After
// Shutdown, Track closes c and reports false.
func (t *Tracker) Track(c io.Closer) (release func(), ok bool) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		c.Close()
		return nil, false
	}
	if t.closers == nil {
		t.closers = make(map[io.Closer]struct{})
	}
	t.closers[c] = struct{}{}
	t.wg.Add(1)
	t.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			delete(t.closers, c)
			t.mu.Unlock()
			c.Close()
			t.wg.Done()
		})
	}, true
}

// Add counts one piece of work in flight, to be ended with Done, and
// reports true; after Shutdown it counts nothing and reports false.
func (t *Tracker) Add() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

// Done ends a piece of work counted by Add.
func (t *Tracker) Done() { t.wg.Done() }

// Closed reports whether Shutdown has been called.
func (t *Tracker) Closed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Context returns the context of one piece of work: it is canceled by
// cancel, and by Shutdown once Shutdown has stopped waiting. Call cancel
// when the work ends.
func (t *Tracker) Context() (ctx context.Context, cancel context.CancelFunc) {
	ctx, stop := context.WithCancel(context.Background())
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.aborted {
		stop()
		return ctx, stop
	}
	if t.cancels == nil {
		t.cancels = make(map[*context.CancelFunc]struct{})
	}
	key := &stop
	t.cancels[key] = struct{}{}
	return ctx, func() {
		t.mu.Lock()
		delete(t.cancels, key)
		t.mu.Unlock()
		stop()
	}
}

// Shutdown closes the tracker: it closes every tracked listener and
// connection, refuses new work, and waits until the work in flight has
// ended or ctx is done. Then it cancels the contexts of the work, and
// returns ctx.Err() when ctx was done first, nil otherwise.
func (t *Tracker) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	for c := range t.closers {
		c.Close()
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	t.abort()
	return err
}

// abort cancels the contexts of the work, those made later included.
func (t *Tracker) abort() {
	t.mu.Lock()
	t.aborted = true
	cancels := t.cancels
	t.cancels = nil
	t.mu.Unlock()
	for c := range cancels {
		(*c)()
	}
}

// Wait waits until the work in flight has ended. After a Shutdown that
// returned an error it waits for the work that Shutdown's cancellation
// ends.
func (t *Tracker) Wait() { t.wg.Wait() }
