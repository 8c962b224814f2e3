package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/power"
)

// powerSettings are the power flags of the reference server.
type powerSettings struct {
	poll     interval // how often power states are read
	insecure bool     // accept the self-signed certificates of BMCs
}

func (s *powerSettings) register(fs *flag.FlagSet) {
	fs.Var(&s.poll, "power-poll", "read the power state of machines with a BMC every `DURATION`, or off")
	fs.BoolVar(&s.insecure, "power-insecure", false, "accept the self-signed TLS certificates of BMCs")
}

func (s *powerSettings) resolve(*settings) error { return nil }

func (s *powerSettings) describe(*settings) string {
	if !s.poll.on() {
		return ""
	}
	return fmt.Sprintf("power states of machines with a BMC read every %v", s.poll.d)
}

// config is what the power package needs besides a machine's attributes.
func (s *powerSettings) config(d deps) power.Config {
	return power.Config{InsecureSkipVerify: s.insecure, Recorder: d.audit, Logger: d.log}
}

// powerCommands returns the DNS commands that switch a machine through
// its power backend: on.<host>.do.<zone> (or wake), off, soft-off, cycle
// and reset.
func powerCommands(set *settings, d deps) map[string]dnsd.CommandFunc {
	cfg := set.power.config(d)
	cmds := map[string]dnsd.CommandFunc{}
	for _, a := range power.Actions() {
		cmds[string(a)] = func(ctx context.Context, m pxelator.Machine) error { return power.Switch(ctx, m, cfg, a) }
	}
	return cmds
}

// pollPower reads the power state of every machine whose backend can
// tell; the clients record each reading in the audit.
func pollPower(ctx context.Context, cfg power.Config, d deps) {
	machines, err := d.store.List(ctx)
	if err != nil {
		d.log.WarnContext(ctx, "power: listing machines", "err", err)
		return
	}
	for _, m := range machines {
		if !power.BackendOf(m).CanRead() {
			continue
		}
		c, err := power.For(m, cfg)
		if err != nil {
			d.log.WarnContext(ctx, "power: machine", "machine", m, "err", err)
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
	if !s.poll.on() {
		return nil, nil
	}
	cfg := s.config(d)
	return []*service{background("power", nil, func(ctx context.Context) error {
		t := time.NewTicker(s.poll.d)
		defer t.Stop()
		for {
			pollPower(ctx, cfg, d)
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
		}
	}, nil)}, nil
}
