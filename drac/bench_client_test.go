package drac_test

import (
	"context"
	"testing"

	"github.com/pxelator/pxelator/drac"
)

// BenchmarkPowerState measures one power state reading through each
// client against the emulator over TLS (one session, kept alive).
func BenchmarkPowerState(b *testing.B) {
	ctx := context.Background()
	_, srv := startBMC(b)
	rf := newRedfish(b, srv, drac.Config{})
	rfBasic := newRedfish(b, srv, drac.Config{BasicAuth: true})
	lg := newLegacy(b, srv, drac.Config{})
	for _, c := range []struct {
		name string
		p    power
	}{{"redfish-session", rf}, {"redfish-basic", rfBasic}, {"racadm", lg}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.p.PowerState(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	rf.Close(ctx)
	lg.Close(ctx)
}
