package dhcpd

import (
	"testing"
	"time"
)

func TestWriteRateLimit(t *testing.T) {
	var r writeRate
	t0 := time.Unix(1000, 0)
	if got := r.limit(t0); got != minWrites {
		t.Errorf("idle limit = %d, want %d", got, minWrites)
	}
	for range 6000 { // a store doing 6000 writes per second
		r.done(t0)
	}
	if got := r.limit(t0.Add(time.Second)); got != 3000 {
		t.Errorf("limit after 6000 writes/s = %d, want 3000 (0.5 s worth)", got)
	}
	for range 20000 {
		r.done(t0.Add(time.Second))
	}
	if got := r.limit(t0.Add(time.Second)); got != maxWrites {
		t.Errorf("limit of a fast store = %d, want %d", got, maxWrites)
	}
	if got := r.limit(t0.Add(5 * time.Second)); got != minWrites {
		t.Errorf("limit after an idle spell = %d, want %d", got, minWrites)
	}
}
