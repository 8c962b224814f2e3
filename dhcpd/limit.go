package dhcpd

import (
	"sync"
	"time"
)

// Limit bounds how many new machines one source (an interface, or a relay
// for relayed requests) may create: a token bucket of Burst tokens refilled
// at Rate per second. The zero Limit means no limit. With a limit a storm
// of DISCOVERs from random MACs takes at most Burst + Rate·t addresses in
// time t, never the whole pool at once; known machines are never limited.
type Limit struct {
	Rate  float64 // tokens per second
	Burst int     // bucket size
}

// maxSources bounds the buckets kept: relay addresses come from the
// packets, so a forged storm could otherwise grow the map without end.
const maxSources = 4096

type limiter struct {
	lim     Limit
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(l Limit) *limiter {
	if l.Burst <= 0 {
		return nil
	}
	return &limiter{lim: l, buckets: make(map[string]*bucket)}
}

// allow takes a token from source's bucket and reports whether there was
// one. A nil limiter allows everything.
func (l *limiter) allow(source string, now time.Time) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[source]
	if !ok {
		if len(l.buckets) >= maxSources {
			clear(l.buckets) // a forged-relay storm: start over rather than grow
		}
		b = &bucket{tokens: float64(l.lim.Burst), last: now}
		l.buckets[source] = b
	}
	b.tokens = min(float64(l.lim.Burst), b.tokens+now.Sub(b.last).Seconds()*l.lim.Rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
