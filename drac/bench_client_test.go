package drac_test

import (
	"context"
	"testing"
)

// BenchmarkPowerState measures one power state reading through each
// client against the emulator over TLS (one session, kept alive).
func BenchmarkPowerState(b *testing.B) {
	ctx := context.Background()
	_, srv := startBMC(b)
	rf := newRedfish(srv, nil)
	rfBasic := newRedfish(srv, nil)
	rfBasic.BasicAuth = true
	lg := newLegacy(srv, nil)
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
