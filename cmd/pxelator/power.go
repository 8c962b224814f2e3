package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/wol"
)

// powerController is what the reference server needs of a machine's
// power backend: the vocabulary the wol, amt and drac packages share.
type powerController interface {
	On(ctx context.Context) error
	Off(ctx context.Context) error
	SoftOff(ctx context.Context) error
	Cycle(ctx context.Context) error
	Reset(ctx context.Context) error
	PowerState(ctx context.Context) (pxelator.PowerState, error)
	Close(ctx context.Context) error // ends a BMC session
}

// powerSettings are the power flags of the reference server.
type powerSettings struct {
	poll     time.Duration // how often power states are read; 0: never
	insecure bool          // accept the self-signed certificates of BMCs
}

func (s *powerSettings) register(fs *flag.FlagSet) {
	fs.DurationVar(&s.poll, "power-poll", 0, "read the power state of machines with a BMC every `DURATION` (0: never)")
	fs.BoolVar(&s.insecure, "power-insecure", false, "accept the self-signed TLS certificates of BMCs")
}

func (s *powerSettings) resolve(*settings) error {
	if s.poll < 0 {
		return fmt.Errorf("-power-poll %v: want a positive duration, or 0", s.poll)
	}
	return nil
}

func (s *powerSettings) describe(*settings) string {
	if s.poll == 0 {
		return ""
	}
	return fmt.Sprintf("power states of machines with a BMC read every %v", s.poll)
}

// powerFor returns the power backend of m: its AMT device when it has an
// amt.address, its Dell iDRAC (Redfish) when it has a drac.address, else
// Wake-on-LAN, which can only switch it on. readable reports whether the
// backend can read the power state. The caller closes c, which logs out
// of the BMC.
func powerFor(m pxelator.Machine, o powerSettings, d deps) (c powerController, readable bool, err error) {
	switch {
	case m.Get(amt.AttrAddress) != "":
		c, err := amt.NewClientFor(m, amt.Config{InsecureSkipVerify: o.insecure, Recorder: d.audit, Logger: d.log})
		return c, err == nil, err
	case m.Get(drac.AttrAddress) != "":
		c, err := drac.NewRedfishFor(m, drac.Config{InsecureSkipVerify: o.insecure, Recorder: d.audit, Logger: d.log})
		return c, err == nil, err
	}
	return &wol.Client{MAC: m.MAC, Recorder: d.audit, Logger: d.log}, false, nil
}

// powerCommands returns the DNS commands that switch a machine through
// its power backend: wake.<host>.do.<zone> and friends.
func powerCommands(set *settings, d deps) map[string]dnsd.CommandFunc {
	do := func(op func(powerController, context.Context) error) dnsd.CommandFunc {
		return func(ctx context.Context, m pxelator.Machine) error {
			c, _, err := powerFor(m, set.power, d)
			if err != nil {
				return err
			}
			defer c.Close(ctx)
			return op(c, ctx)
		}
	}
	return map[string]dnsd.CommandFunc{
		"wake":     do(powerController.On),
		"on":       do(powerController.On),
		"off":      do(powerController.Off),
		"soft-off": do(powerController.SoftOff),
		"cycle":    do(powerController.Cycle),
		"reset":    do(powerController.Reset),
	}
}

// pollPower reads the power state of every machine that has a backend
// that can tell; the clients record each reading in the audit.
func pollPower(ctx context.Context, s powerSettings, d deps) {
	machines, err := d.store.List(ctx)
	if err != nil {
		d.log.WarnContext(ctx, "power: listing machines", "err", err)
		return
	}
	for _, m := range machines {
		c, readable, err := powerFor(m, s, d)
		if err != nil {
			d.log.WarnContext(ctx, "power: machine", "machine", m, "err", err)
			continue
		}
		if !readable {
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		state, err := c.PowerState(rctx)
		c.Close(rctx)
		cancel()
		if err != nil {
			d.log.WarnContext(ctx, "power: reading the state", "machine", m, "err", err)
			continue
		}
		d.log.DebugContext(ctx, "power: state", "machine", m, "state", state)
	}
}

// newPower builds the poller that reads the power state of the machines
// with a BMC every -power-poll, so that the audit tells when each was on.
func newPower(set *settings, d deps) ([]*service, error) {
	s := set.power
	if s.poll <= 0 {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	running, done := make(chan struct{}), make(chan struct{})
	return []*service{{
		name: "power",
		serve: func() error {
			close(running)
			defer close(done)
			t := time.NewTicker(s.poll)
			defer t.Stop()
			for {
				pollPower(ctx, s, d)
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
			}
		},
		stop: func(stopCtx context.Context) error {
			cancel()
			select {
			case <-running:
			default:
				return nil // the group did not start
			}
			select {
			case <-done:
				return nil
			case <-stopCtx.Done():
				return stopCtx.Err()
			}
		},
	}}, nil
}
