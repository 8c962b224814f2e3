package dnsd

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
)

// The record of recent runs stays small when runs are older than the
// window, however many machines ask.
func TestCommandsForgetOldRuns(t *testing.T) {
	c := &commands{window: time.Nanosecond, timeout: time.Minute}
	fn := func(context.Context, pxelator.Machine) error { return nil }
	for i := range 2000 {
		m := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, byte(i >> 8), byte(i)}}
		if ran, err := c.run(context.Background(), "wake "+m.MAC.String(), c.window, time.Time{}, fn, m); !ran || err != nil {
			t.Fatalf("run %d: ran %v, %v", i, ran, err)
		}
	}
	if n := len(c.recent); n > 257 {
		t.Errorf("%d runs remembered, want at most 257", n)
	}
}
