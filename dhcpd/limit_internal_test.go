package dhcpd

import (
	"testing"
	"time"
)

// TestDefaultLimitBootStorm checks the numbers the doc of DefaultBurst
// gives: 500 new machines on one interface that REQUEST at once, and
// again after 4, 8 and 16 s while refused (RFC 2131 §4.1, as PXE
// firmware does), all get in by the third retry, 28 s after the start.
func TestDefaultLimitBootStorm(t *testing.T) {
	l := newLimiter(Limit{})
	t0 := time.Unix(1000, 0)
	src := source{ifIndex: 2}
	waiting, last := 500, time.Duration(0)
	for _, at := range []time.Duration{0, 4 * time.Second, 12 * time.Second, 28 * time.Second} {
		for range waiting {
			if l.allow(src, t0.Add(at)) {
				waiting--
				last = at
			}
		}
	}
	if waiting > 0 || last != 28*time.Second {
		t.Errorf("%d of 500 machines left out; the last got in at %v, want all by 28s", waiting, last)
	}
	// A relayed storm on the same interface has a bucket of its own.
	if !l.allow(source{ifIndex: 2, relayed: true}, t0.Add(28*time.Second)) {
		t.Error("the relays of an interface share the bucket of its direct clients")
	}
}

func TestLimitOff(t *testing.T) {
	if l := newLimiter(Limit{Burst: -1}); l != nil || !l.allow(source{}, time.Now()) {
		t.Errorf("Burst -1: limiter %v, want none that allows all", l)
	}
}
