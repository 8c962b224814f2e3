package main

import (
	"context"
	"flag"
	"sync"
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

// powerOptions are the power flags of the reference server.
type powerOptions struct {
	poll     time.Duration // how often power states are read; 0: never
	insecure bool          // accept the self-signed certificates of BMCs
}

// powerFor returns the power backend of m: its AMT device when it has an
// amt.address, its Dell iDRAC (Redfish) when it has a drac.address, else
// Wake-on-LAN, which can only switch it on. readable reports whether the
// backend can read the power state. The caller closes c, which logs out
// of the BMC.
func powerFor(m pxelator.Machine, o powerOptions, st *stack) (c powerController, readable bool, err error) {
	switch {
	case m.Get(amt.AttrAddress) != "":
		c, err := amt.NewClientFor(m, amt.Config{InsecureSkipVerify: o.insecure, Recorder: st.audit, Logger: st.log})
		return c, err == nil, err
	case m.Get(drac.AttrAddress) != "":
		c, err := drac.NewRedfishFor(m, drac.Config{InsecureSkipVerify: o.insecure, Recorder: st.audit, Logger: st.log})
		return c, err == nil, err
	}
	return &wol.Client{MAC: m.MAC, Recorder: st.audit, Logger: st.log}, false, nil
}

// powerCommands returns the DNS commands that switch a machine through
// its power backend: wake.<host>.do.<zone> and friends.
func powerCommands(st *stack) map[string]dnsd.CommandFunc {
	do := func(op func(powerController, context.Context) error) dnsd.CommandFunc {
		return func(ctx context.Context, m pxelator.Machine) error {
			c, _, err := powerFor(m, st.power, st)
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
func pollPower(ctx context.Context, o powerOptions, st *stack) {
	machines, err := st.store.List(ctx)
	if err != nil {
		st.log.WarnContext(ctx, "power: listing machines", "err", err)
		return
	}
	for _, m := range machines {
		c, readable, err := powerFor(m, o, st)
		if err != nil {
			st.log.WarnContext(ctx, "power: machine", "machine", m, "err", err)
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
			st.log.WarnContext(ctx, "power: reading the state", "machine", m, "err", err)
			continue
		}
		st.log.DebugContext(ctx, "power: state", "machine", m, "state", state)
	}
}

// powerService reads the power state of the machines with a BMC every
// -power-poll, so that the audit tells when each was on.
func powerService() *service {
	var o powerOptions
	return &service{
		name: "power",
		flags: func(fs *flag.FlagSet) {
			fs.DurationVar(&o.poll, "power-poll", 0, "read the power state of machines with a BMC every `DURATION` (0: never)")
			fs.BoolVar(&o.insecure, "power-insecure", false, "accept the self-signed TLS certificates of BMCs")
		},
		start: func(ctx context.Context, st *stack) (func(context.Context) error, error) {
			st.power = o
			if o.poll <= 0 {
				return nil, nil
			}
			ctx, cancel := context.WithCancel(ctx)
			var wg sync.WaitGroup
			wg.Go(func() {
				t := time.NewTicker(o.poll)
				defer t.Stop()
				for {
					pollPower(ctx, o, st)
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
				}
			})
			return func(context.Context) error {
				cancel()
				wg.Wait()
				return nil
			}, nil
		},
	}
}
