package audittest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// Recorder keeps every event it is given, in order. The zero value is
// ready to use.
type Recorder struct {
	mu     sync.Mutex
	events []audit.Event
	cond   chan struct{} // closed and replaced on every Record
}

// Record implements audit.Recorder.
func (r *Recorder) Record(ctx context.Context, e audit.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	if r.cond != nil {
		close(r.cond)
		r.cond = nil
	}
	r.mu.Unlock()
}

// Events returns a copy of the events recorded so far.
func (r *Recorder) Events() []audit.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// Find returns the recorded events of pkg with the given action ("" for
// any action).
func (r *Recorder) Find(pkg, action string) []audit.Event {
	var out []audit.Event
	for _, e := range r.Events() {
		if e.Package == pkg && (action == "" || e.Action == action) {
			out = append(out, e)
		}
	}
	return out
}

// Wait blocks until an event for which match returns true has been
// recorded, and returns it; it returns false when ctx is done first.
func (r *Recorder) Wait(ctx context.Context, match func(audit.Event) bool) (audit.Event, bool) {
	seen := 0
	for {
		r.mu.Lock()
		for ; seen < len(r.events); seen++ {
			if match(r.events[seen]) {
				e := r.events[seen]
				r.mu.Unlock()
				return e, true
			}
		}
		if r.cond == nil {
			r.cond = make(chan struct{})
		}
		c := r.cond
		r.mu.Unlock()
		select {
		case <-c:
		case <-ctx.Done():
			return audit.Event{}, false
		}
	}
}

// Inserter keeps every document it is given. Set Err to make Insert fail.
// The zero value is ready to use.
type Inserter struct {
	mu   sync.Mutex
	docs []audit.Document
	err  error
}

// SetErr makes later Insert calls fail with err (nil to succeed again).
func (s *Inserter) SetErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// Insert implements audit.Inserter.
func (s *Inserter) Insert(ctx context.Context, docs []audit.Document) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.docs = append(s.docs, docs...)
	return nil
}

// Documents returns a copy of the documents inserted so far.
func (s *Inserter) Documents() []audit.Document {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.docs)
}
