package dhcpd

import (
	"sync"
	"time"
)

// Limit bounds how many new machines the clients of one source may
// create: a token bucket of Burst tokens refilled at Rate per second. A
// new machine takes a token when its REQUEST would write it to the store;
// a DISCOVER takes none, as an OFFER writes nothing. Known machines are
// never limited.
//
// The sources are the interfaces: the clients on one interface share a
// bucket, and so do the relays whose requests arrive on one interface
// (a bucket of their own), however many relay addresses they show. A
// storm of new MACs from one interface, forged or not, creates at most
// Burst + Rate·t machines in time t.
//
// The zero Limit is the default: DefaultBurst and DefaultRate. A negative
// Burst means no limit.
type Limit struct {
	Rate  float64 // tokens per second
	Burst int     // bucket size
}

// The default Limit, per interface: 128 new machines at once, then 32 per
// second. A boot storm of 500 new machines that REQUEST at once, and again
// on the schedule of RFC 2131 §4.1 (after 4, 8 and 16 s) as PXE firmware
// does, is through 28 s after it began: 128 at once and 128 at each retry.
// Machines that come up a few seconds apart, as they do when they POST at
// different speeds, get through sooner. A storm of forged exchanges that
// answer their OFFERs writes at most 128 machines at once and 32 a second
// (never more than the range holds); DISCOVERs alone write nothing, and
// the pool comes back as the forged machines' leases run out (see
// [StoreHandler]).
const (
	DefaultBurst = 128
	DefaultRate  = 32
)

// source is what a bucket is kept for: an interface, for its direct
// clients or for its relays. There are at most twice as many as the
// host has interfaces, so the buckets need no bound of their own.
type source struct {
	ifIndex int
	relayed bool
}

type limiter struct {
	lim     Limit
	mu      sync.Mutex
	buckets map[source]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// newLimiter returns the limiter of l, or nil for no limit.
func newLimiter(l Limit) *limiter {
	switch {
	case l.Burst < 0:
		return nil
	case l.Burst == 0:
		l = Limit{Burst: DefaultBurst, Rate: DefaultRate}
	}
	return &limiter{lim: l, buckets: make(map[source]*bucket)}
}

// allow takes a token from the bucket of src and reports whether there
// was one. A nil limiter allows everything.
func (l *limiter) allow(src source, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[src]
	if !ok {
		b = &bucket{tokens: float64(l.lim.Burst), last: now}
		l.buckets[src] = b
	}
	b.tokens = min(float64(l.lim.Burst), b.tokens+now.Sub(b.last).Seconds()*l.lim.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
