package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/power"
	"github.com/pxelator/pxelator/schedule"
)

// scheduleSettings are the flags of the scheduler, which switches
// machines on and off at their kiosk.on and kiosk.off times.
type scheduleSettings struct {
	onOff
	catchUp time.Duration

	// Not flags: a test's clock and pace.
	now  func() time.Time
	tick time.Duration
}

func (s *scheduleSettings) register(fs *flag.FlagSet) {
	fs.Var(&s.onOff, "schedule", "switch machines on and off at the times of their kiosk.on, kiosk.off, kiosk.days and kiosk.tz attributes: on or off")
	fs.DurationVar(&s.catchUp, "schedule-catchup", 30*time.Minute, "act on a planned time missed (the server was down, the clock jumped) up to `DURATION` late; 0: never")
}

func (s *scheduleSettings) resolve(*settings) error {
	if s.catchUp < 0 {
		return errors.New("-schedule-catchup: want a duration of 0 or more")
	}
	return nil
}

func (s *scheduleSettings) describe(set *settings) string {
	if !s.on() {
		return ""
	}
	return fmt.Sprintf("kiosk schedules: machines switched at kiosk.on and kiosk.off, missed times caught up for %v; done times in %s",
		s.catchUp, s.stateFile(set))
}

// stateFile is where the scheduler keeps the planned times it did.
func (s *scheduleSettings) stateFile(set *settings) string {
	return filepath.Join(set.state, "schedule.jsonl")
}

// newSchedule builds the scheduler. It returns a nil scheduler when
// -schedule is off.
func newSchedule(set *settings, d deps) (*schedule.Scheduler, []*service, error) {
	s := &set.schedule
	if !s.on() {
		return nil, nil, nil
	}
	catchUp := s.catchUp
	if catchUp == 0 {
		catchUp = -1 // schedule.Options: none
	}
	cfg := set.power.config(d)
	sched, err := schedule.New(d.store, &schedule.Options{
		Power:    func(m pxelator.Machine) (schedule.Power, error) { return power.For(m, cfg) },
		Now:      s.now,
		CatchUp:  catchUp,
		Tick:     s.tick,
		State:    s.stateFile(set),
		Recorder: d.audit,
		Logger:   d.log,
	})
	if err != nil {
		return nil, nil, err
	}
	return sched, []*service{background("schedule", nil, func(ctx context.Context) error {
		defer sched.Close()
		return sched.Run(ctx)
	}, func() { sched.Close() })}, nil
}
