package amt

import (
	"context"
	"errors"
	"fmt"

	"github.com/pxelator/pxelator"
)

// PowerState reads the machine's power state: on, off, sleep, or unknown
// for a state the vocabulary has no word for. The reading is recorded in
// the audit as action "power_state" with field "state".
func (c *Client) PowerState(ctx context.Context) (pxelator.PowerState, error) {
	st, detail, err := c.powerState(ctx)
	c.record(ctx, "power_state", map[string]any{"state": string(st), "detail": detail}, err)
	return st, err
}

func (c *Client) powerState(ctx context.Context) (pxelator.PowerState, string, error) {
	if c.cfg.Legacy {
		n, err := c.SystemPowerState(ctx)
		if err != nil {
			return pxelator.PowerUnknown, "", err
		}
		return legacyState(n), systemPowerStateName(n), nil
	}
	info, err := c.PowerInfo(ctx)
	if err != nil {
		return pxelator.PowerUnknown, "", err
	}
	return info.State(), cimArg(info.PowerState), nil
}

// On switches the machine on. A machine that is already on is not an
// error.
func (c *Client) On(ctx context.Context) error {
	return c.change(ctx, "power_on", pxelator.PowerOn, CIMOn, CommandPowerUp)
}

// Off switches the machine off at once, without asking its operating
// system. A machine that is already off is not an error.
func (c *Client) Off(ctx context.Context) error {
	return c.change(ctx, "power_off", pxelator.PowerOff, CIMOff, CommandPowerDown)
}

// SoftOff asks the operating system to shut down (CIM state 12, which
// needs AMT 9 or later and a running OS agent). A machine that is already
// off is not an error. The legacy protocol has no graceful off: the error
// then wraps errors.ErrUnsupported.
func (c *Client) SoftOff(ctx context.Context) error {
	return c.change(ctx, "power_soft_off", pxelator.PowerOff, CIMSoftOff, 0)
}

// Cycle switches the machine off and on again. A machine that is off
// makes the device refuse it.
func (c *Client) Cycle(ctx context.Context) error {
	return c.change(ctx, "power_cycle", "", CIMCycle, CommandPowerCycle)
}

// Reset resets the machine without switching it off. A machine that is
// off makes the device refuse it.
func (c *Client) Reset(ctx context.Context) error {
	return c.change(ctx, "power_reset", "", CIMReset, CommandReset)
}

// change requests a power state change. When the device refuses it and
// the machine is already in the state wanted (want not empty), the
// request counts as done.
func (c *Client) change(ctx context.Context, action string, want pxelator.PowerState, cim, command int) error {
	var err error
	var request string
	switch {
	case !c.cfg.Legacy:
		request = cimArg(cim)
		err = c.RequestPowerStateChange(ctx, cim)
	case command != 0:
		request = fmt.Sprintf("Command %d (%s)", command, commandNames[command])
		err = c.RemoteControl(ctx, command)
	default:
		request = action
		err = fmt.Errorf("amt: %s: the legacy RemoteControlService has no such command: %w", action, errors.ErrUnsupported)
	}
	already := false
	if err != nil && want != "" && refused(err) {
		if st, _, serr := c.powerState(ctx); serr == nil && st == want {
			err, already = nil, true
		}
	}
	c.record(ctx, action, map[string]any{"request": request, "already": already}, err)
	return err
}

// refused reports whether err is the device declining a request it
// understood, as opposed to a transport or authentication failure.
func refused(err error) bool {
	var rv *ReturnValueError
	var st *StatusError
	return errors.As(err, &rv) || errors.As(err, &st)
}
