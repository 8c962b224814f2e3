// Package power is the one place that picks how a machine is switched on
// and off, from its attributes, and gives its users (the scheduler, the
// DNS commands, powerctl, the web page) one small interface.
//
// [BackendOf] chooses:
//
//   - Intel AMT (package amt) when the machine has amt.address, with
//     amt.username and amt.password;
//   - a Dell iDRAC over Redfish (package drac) when it has drac.address,
//     with drac.username and drac.password;
//   - Wake-on-LAN (package wol) otherwise, to the machine's MAC address,
//     with the optional attributes wol.broadcast, wol.port, wol.interface
//     and wol.secureon. Wake-on-LAN can only switch a machine on: the
//     other actions, and reading the power state, fail with an error
//     wrapping errors.ErrUnsupported.
//
// [For] returns the [Controller] of a machine: On, Off (hard), SoftOff
// (asks the operating system), Cycle, Reset and PowerState, and Close,
// which logs out of a BMC. Switching on a machine that is on, or off one
// that is off, is not an error. [Config] holds what attributes do not:
// default credentials, TLS settings, the audit recorder and logger. Every
// action and state reading is recorded by the backend's own package
// (package "amt", "drac" or "wol" in the audit); passwords never are.
//
// [Action] names the switching operations as users type them ("on",
// "off", "soft-off", "cycle", "reset"), and [Switch] opens a machine's
// controller, runs one and closes it.
//
// The package powertest has fake controllers, for tests of code that
// switches machines.
package power
