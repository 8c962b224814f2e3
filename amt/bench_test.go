package amt_test

import (
	"testing"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
)

// BenchmarkPowerState reads the power state from the emulator over
// loopback: one Digest-authenticated WS-Man Get (the default nonce is good
// for 4 requests, so a quarter of the calls also take a 401).
func BenchmarkPowerState(b *testing.B) {
	for _, legacy := range []bool{false, true} {
		name := "wsman"
		if legacy {
			name = "legacy"
		}
		b.Run(name, func(b *testing.B) {
			srv := amttest.NewServer(amttest.Options{})
			defer srv.Close()
			c := newClient(b, srv, amt.Config{Legacy: legacy})
			ctx := ctxT(b)
			for b.Loop() {
				if st, err := c.PowerState(ctx); err != nil || st != pxelator.PowerOn {
					b.Fatal(st, err)
				}
			}
		})
	}
}

// BenchmarkOnOff switches the emulated machine off and on.
func BenchmarkOnOff(b *testing.B) {
	srv := amttest.NewServer(amttest.Options{})
	defer srv.Close()
	c := newClient(b, srv, amt.Config{})
	ctx := ctxT(b)
	for b.Loop() {
		if err := c.Off(ctx); err != nil {
			b.Fatal(err)
		}
		if err := c.On(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
