package schedule_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/power/powertest"
	"github.com/pxelator/pxelator/schedule"
)

// A kiosk on at 07:30 and off at 20:30 on weekdays: a pass of the
// scheduler at 07:30:05 switches it on.
func Example() {
	ctx := context.Background()
	store := memstore.New()
	kiosk := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0x0a, 1}, IP: netip.MustParseAddr("10.0.0.11")}
	kiosk.Set(schedule.AttrOn, "07:30")
	kiosk.Set(schedule.AttrOff, "20:30")
	kiosk.Set(schedule.AttrDays, "mon-fri")
	if err := store.Put(ctx, kiosk); err != nil {
		panic(err)
	}

	bmc := powertest.New(pxelator.PowerOff) // in a server: the power package
	now := time.Date(2026, 11, 27, 7, 30, 5, 0, time.UTC)
	s, err := schedule.New(store, &schedule.Options{
		Power:    func(pxelator.Machine) (schedule.Power, error) { return bmc, nil },
		Now:      func() time.Time { return now },
		Location: time.UTC,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	if err := s.Check(ctx); err != nil { // Run does this every Tick
		panic(err)
	}
	fmt.Println("kiosk is", bmc.State())

	p, _ := s.Plan(kiosk.MAC)
	fmt.Println("schedule:", p.Schedule)
	fmt.Println("last:", p.Last.Action, p.Last.Planned.Format("Mon 15:04"), p.LastOutcome)
	fmt.Println("next off:", p.NextOff.Format("Mon 15:04"))
	fmt.Println("next on:", p.NextOn.Format("Mon 15:04"))
	// Output:
	// kiosk is on
	// schedule: on 07:30 off 20:30 mon-fri UTC
	// last: on Fri 07:30 switched
	// next off: Fri 20:30
	// next on: Mon 07:30
}

func ExampleParseDays() {
	for _, s := range []string{"mon-fri", "sat,sun", "fri-mon", ""} {
		d, _ := schedule.ParseDays(s)
		fmt.Printf("%q: %v, Sunday %v\n", s, d, d.Has(time.Sunday))
	}
	// Output:
	// "mon-fri": mon-fri, Sunday false
	// "sat,sun": sat,sun, Sunday true
	// "fri-mon": fri-mon, Sunday true
	// "": daily, Sunday true
}

// On the day daylight saving time starts in Europe, 02:30 does not
// happen: a kiosk planned for it is switched at 03:30.
func ExamplePlannedAt() {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	at, _ := schedule.ParseDaytime("02:30")
	fmt.Println(schedule.PlannedAt(2026, time.March, 29, at, berlin))
	fmt.Println(schedule.PlannedAt(2026, time.October, 25, at, berlin))
	// Output:
	// 2026-03-29 03:30:00 +0200 CEST
	// 2026-10-25 02:30:00 +0200 CEST
}
