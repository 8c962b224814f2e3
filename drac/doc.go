// Package drac switches Dell servers on and off through their remote
// access controller (iDRAC, DRAC), and reads their power state.
//
// Two clients, both configured by a [Config], have the power vocabulary
// of the wol and amt packages: On, Off (hard), SoftOff (graceful), Cycle,
// Reset and PowerState, each taking a context, and Close.
//
//   - [Redfish] ([NewRedfish]) speaks the Redfish API of iDRAC 7 and
//     later: the ComputerSystem's PowerState and its ComputerSystem.Reset
//     action (On, ForceOff, GracefulShutdown, PowerCycle, ForceRestart),
//     with a session (X-Auth-Token) or HTTP Basic authentication. The
//     system is discovered from /redfish/v1/Systems when no SystemID is
//     given. [NewRedfishFor] returns one for a machine of the store, from
//     its attributes drac.address, drac.username and drac.password (a
//     secret attribute).
//   - [Legacy] ([NewLegacy]) speaks the web interface of DRAC 5 and
//     iDRAC 6 (login, the virtual console session, logout) and remote
//     RACADM over HTTPS ("racadm serveraction powerup" and friends).
//
// "Already in that state" is success: On of a system that is on returns
// nil, as do Off and SoftOff of a system that is off. A refused action
// wraps [ErrNotAllowed], refused credentials [ErrUnauthorized], an answer
// that is not the expected protocol (an HTML page, a truncated body)
// wraps [ErrProtocol], and a reset type the system does not offer wraps
// [errors.ErrUnsupported]. Every request honours its context: a BMC
// that hangs costs the caller its deadline, no more.
//
// When the BMC has dropped a session (idle timeout, card reset), the
// clients log in again once and repeat the request once; a BMC that
// keeps refusing gives an error, not a retry storm.
//
// TLS certificates are verified by default. iDRACs ship with self-signed
// certificates: give the clients an HTTPClient that trusts the card's
// certificate, or set [Config.InsecureSkipVerify] explicitly.
//
// Every power action and state reading is recorded through the optional
// [Config.Recorder] (package "drac", actions "power_state", "power_on",
// "power_off", "power_soft_off", "power_cycle", "power_reset"), and
// sessions are logged at debug level to [Config.Logger], without
// credentials or session tokens. Package
// [github.com/pxelator/pxelator/drac/dractest] emulates an iDRAC
// for tests.
package drac
