// Package powertest has fake power backends, for testing code that
// switches machines (a scheduler, a web page) without a BMC.
//
// A [Machine] keeps a power state and answers the power vocabulary of
// the power package: On, Off, SoftOff, Cycle, Reset, PowerState and
// Close. It counts what it was asked, can be told to fail, and can play a
// Wake-on-LAN target, which only switches on and cannot tell its state.
// A [Fleet] hands out the fake of each machine by MAC address.
package powertest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/pxelator/pxelator"
)

// ErrFailed is the error of an action that a [Machine] was told to fail.
var ErrFailed = errors.New("powertest: action failed as told")

// Machine is a fake power backend of one machine. It is safe for
// concurrent use.
type Machine struct {
	mu      sync.Mutex
	state   pxelator.PowerState
	wol     bool
	fail    int
	failErr error
	actions []string
	reads   int
	closes  int
}

// New returns a fake machine in state s that a BMC reports on.
func New(s pxelator.PowerState) *Machine { return &Machine{state: s} }

// NewWoL returns a fake Wake-on-LAN target in state s: On switches it on,
// every other action and PowerState return an error wrapping
// errors.ErrUnsupported.
func NewWoL(s pxelator.PowerState) *Machine { return &Machine{state: s, wol: true} }

// State returns the machine's power state.
func (m *Machine) State() pxelator.PowerState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// SetState sets the power state, as someone at the machine would.
func (m *Machine) SetState(s pxelator.PowerState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.state = s
}

// Fail makes the next n actions (not state readings) fail with err, or
// with ErrFailed when err is nil.
func (m *Machine) Fail(n int, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		err = ErrFailed
	}
	m.fail, m.failErr = n, err
}

// Actions returns the actions asked for, in order: "on", "off",
// "soft-off", "cycle", "reset", including those that failed.
func (m *Machine) Actions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.actions)
}

// Reads returns how often PowerState was called.
func (m *Machine) Reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func (m *Machine) do(ctx context.Context, action string, to pxelator.PowerState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.actions = append(m.actions, action)
	if m.wol && action != "on" {
		return fmt.Errorf("powertest: %s: Wake-on-LAN: %w", action, errors.ErrUnsupported)
	}
	if m.fail > 0 {
		m.fail--
		return m.failErr
	}
	if to != "" {
		m.state = to
	}
	return nil
}

// On switches the machine on.
func (m *Machine) On(ctx context.Context) error { return m.do(ctx, "on", pxelator.PowerOn) }

// Off switches the machine off.
func (m *Machine) Off(ctx context.Context) error { return m.do(ctx, "off", pxelator.PowerOff) }

// SoftOff switches the machine off, as its operating system would.
func (m *Machine) SoftOff(ctx context.Context) error {
	return m.do(ctx, "soft-off", pxelator.PowerOff)
}

// Cycle switches the machine off and on; it ends up on.
func (m *Machine) Cycle(ctx context.Context) error { return m.do(ctx, "cycle", pxelator.PowerOn) }

// Reset resets the machine; its state does not change.
func (m *Machine) Reset(ctx context.Context) error { return m.do(ctx, "reset", "") }

// PowerState returns the machine's state, or for a Wake-on-LAN target
// PowerUnknown and an error wrapping errors.ErrUnsupported.
func (m *Machine) PowerState(ctx context.Context) (pxelator.PowerState, error) {
	if err := ctx.Err(); err != nil {
		return pxelator.PowerUnknown, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.wol {
		return pxelator.PowerUnknown, fmt.Errorf("powertest: Wake-on-LAN cannot tell the power state: %w", errors.ErrUnsupported)
	}
	return m.state, nil
}

// Close counts the call; a fake has no session to end.
func (m *Machine) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closes++
	return nil
}

// Closes returns how often Close was called.
func (m *Machine) Closes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closes
}

// Fleet hands out one fake [Machine] per MAC address. It is safe for
// concurrent use.
type Fleet struct {
	mu       sync.Mutex
	machines map[string]*Machine
}

// Add makes m the fake of the machine with the hardware address mac and
// returns it.
func (f *Fleet) Add(mac net.HardwareAddr, m *Machine) *Machine {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.machines == nil {
		f.machines = make(map[string]*Machine)
	}
	f.machines[mac.String()] = m
	return m
}

// For returns the fake of machine m; a machine not added has none.
func (f *Fleet) For(m pxelator.Machine) (*Machine, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fm, ok := f.machines[m.MAC.String()]; ok {
		return fm, nil
	}
	return nil, fmt.Errorf("powertest: no fake for machine %v", m.MAC)
}
