package amt

import (
	"context"
	"fmt"

	"github.com/pxelator/pxelator"
)

// The SOAP RemoteControlService of AMT 2 to 5.
const (
	nsSOAP11        = "http://schemas.xmlsoap.org/soap/envelope/"
	nsRemoteControl = "http://schemas.intel.com/platform/client/RemoteControl/2004/01"
	pathRemote      = "/RemoteControlService"
	ianaIntel       = 343 // IanaOemNumber of Intel, for the standard commands
)

// RemoteControl commands of the legacy RemoteControlService.
const (
	CommandReset      = 16
	CommandPowerUp    = 17
	CommandPowerDown  = 18
	CommandPowerCycle = 19
)

var commandNames = map[int]string{
	CommandReset: "reset", CommandPowerUp: "power up", CommandPowerDown: "power down", CommandPowerCycle: "power cycle",
}

// systemPowerStates names SystemPowerState & 0x0F.
var systemPowerStates = [16]string{"S0 (on)", "S1", "S2", "S3", "S4", "S5 (soft off)", "S4/S5", "off"}

// legacyState maps SystemPowerState & 0x0F onto the shared vocabulary.
func legacyState(n uint32) pxelator.PowerState {
	switch n & 0x0F {
	case 0:
		return pxelator.PowerOn
	case 1, 2, 3, 4:
		return pxelator.PowerSleep
	case 5, 6, 7:
		return pxelator.PowerOff
	}
	return pxelator.PowerUnknown
}

func legacyRequest(method, params string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` +
		`<soap:Envelope xmlns:soap="` + nsSOAP11 + `"><soap:Body>` +
		`<` + method + ` xmlns="` + nsRemoteControl + `">` + params + `</` + method + `>` +
		`</soap:Body></soap:Envelope>`)
}

func (c *Client) legacy(ctx context.Context, method, params string) (*envelope, error) {
	return c.post(ctx, pathRemote, nsRemoteControl+"#"+method, legacyRequest(method, params))
}

// SystemPowerState calls the legacy GetSystemPowerState and returns the
// SystemPowerState value as the device sent it; the low four bits are the
// ACPI state (0 S0 on, 5 S5 soft off, 7 off, ...).
func (c *Client) SystemPowerState(ctx context.Context) (uint32, error) {
	env, err := c.legacy(ctx, "GetSystemPowerState", "")
	if err != nil {
		return 0, err
	}
	r := env.Body.SystemPower
	if r == nil || r.Status == nil {
		return 0, fmt.Errorf("amt: GetSystemPowerState: answer has no GetSystemPowerStateResponse Status")
	}
	status, err := parseUint(*r.Status, "Status")
	if err != nil {
		return 0, fmt.Errorf("amt: GetSystemPowerState: %w", err)
	}
	if status != StatusSuccess {
		return 0, &StatusError{Method: "GetSystemPowerState", Status: status}
	}
	if r.SystemPowerState == nil {
		return 0, fmt.Errorf("amt: GetSystemPowerState: answer has no SystemPowerState")
	}
	n, err := parseUint(*r.SystemPowerState, "SystemPowerState")
	if err != nil {
		return 0, fmt.Errorf("amt: GetSystemPowerState: %w", err)
	}
	return n, nil
}

// RemoteControl calls the legacy RemoteControl with a command
// (CommandPowerUp, ...). A non-zero Status is returned as a *StatusError.
func (c *Client) RemoteControl(ctx context.Context, command int) error {
	arg := fmt.Sprintf("Command %d", command)
	if n := commandNames[command]; n != "" {
		arg += " (" + n + ")"
	}
	env, err := c.legacy(ctx, "RemoteControl", fmt.Sprintf("<Command>%d</Command><IanaOemNumber>%d</IanaOemNumber>", command, ianaIntel))
	if err != nil {
		return err
	}
	r := env.Body.RemoteControl
	if r == nil || r.Status == nil {
		return fmt.Errorf("amt: RemoteControl(%s): answer has no RemoteControlResponse Status", arg)
	}
	status, err := parseUint(*r.Status, "Status")
	if err != nil {
		return fmt.Errorf("amt: RemoteControl(%s): %w", arg, err)
	}
	if status != StatusSuccess {
		return &StatusError{Method: "RemoteControl", Arg: arg, Status: status}
	}
	return nil
}

func systemPowerStateName(n uint32) string {
	if s := systemPowerStates[n&0x0F]; s != "" {
		return s
	}
	return fmt.Sprintf("%d", n&0x0F)
}
