// Package amttest provides an emulator of an Intel AMT device for tests,
// in the manner of net/http/httptest.
//
// A [Server] serves WS-Management on /wsman (Identify, without
// authentication as AMT does; Get, Enumerate and Pull of
// CIM_AssociatedPowerManagementService, RequestPowerStateChange of
// CIM_PowerManagementService) and the legacy SOAP services of AMT 2 to 5
// (RemoteControlService, and the few calls of SecurityAdministrationService
// and NetworkAdministrationService that amttool makes), behind HTTP Digest
// authentication that checks every response and rotates its nonces. The
// emulated machine has a power state that requests change; a change the
// state does not allow is answered with a non-zero ReturnValue (or legacy
// Status), an unknown resource or action with a SOAP fault, as real
// firmware does. The answers follow captures of real devices.
//
//	srv := amttest.NewServer(amttest.Options{})
//	defer srv.Close()
//	c, _ := amt.NewClient(srv.URL, amt.Config{Username: srv.Username(), Password: srv.Password()})
//	err := c.On(ctx)
package amttest
