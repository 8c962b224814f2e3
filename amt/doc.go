// Package amt switches machines on and off through Intel Active Management
// Technology (AMT).
//
// [NewClient] returns a [Client] for a device's address and a [Config];
// [NewClientFor] one for a machine of the store, from its attributes
// amt.address (default: the machine's IP address), amt.username and
// amt.password (a secret attribute).
//
// A Client speaks WS-Management (SOAP 1.2 over HTTP, POST /wsman on port
// 16992, or 16993 with TLS) to AMT 6 and later: it reads
// CIM_AssociatedPowerManagementService (a Get, falling back to
// Enumerate+Pull on firmware that refuses the Get) and changes the power
// state with CIM_PowerManagementService.RequestPowerStateChange (2 on,
// 8 off, 5 cycle, 10 reset, 12 graceful off). With [Config.Legacy] it
// speaks the SOAP RemoteControlService of AMT 2 to 5 instead
// (GetSystemPowerState and RemoteControl). [Client.Identify] tells which
// of the two a device speaks.
//
// Requests are authenticated with HTTP Digest (github.com/icholy/digest),
// including the challenge forms real firmware sends, such as
// qop="auth-int, auth" and no space after the commas. A nonce the device
// declares stale is renewed (three attempts at most); a refused login is
// not retried. TLS certificates are verified unless
// [Config.InsecureSkipVerify] is set for the self-signed certificates
// AMT ships with (or [Config.TLSConfig] trusts them).
//
// Answers are parsed by local element name, so any namespace prefix works
// and unknown elements are ignored. A non-zero ReturnValue becomes a
// [*ReturnValueError], a SOAP fault a [*Fault], a legacy status a
// [*StatusError], an HTTP answer that is not SOAP an [*HTTPError]: errors
// that say what went wrong in words.
//
// A Client has the power vocabulary of the wol and drac packages: On,
// Off, SoftOff, Cycle, Reset and PowerState. Switching on a machine that
// is on, or off one that is off, is not an error. An operation the device
// or protocol does not offer (SoftOff with [Config.Legacy], a
// ReturnValue of 1) gives an error wrapping [errors.ErrUnsupported].
//
// Every power action and state reading is recorded through the optional
// [Config.Recorder] (package "amt", actions "power_state", "power_on",
// "power_off", "power_soft_off", "power_cycle", "power_reset"), requests
// are logged at debug level to [Config.Logger]; credentials never are.
//
// The package amttest has an emulator of an AMT device to test against.
package amt
