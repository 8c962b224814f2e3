// Package dractest provides an emulated Dell iDRAC for tests, in the
// manner of net/http/httptest: a [BMC] is an http.Handler that speaks
// Redfish (sessions and HTTP Basic authentication, the ComputerSystem
// resource and its Reset action, with the 409 and 400 answers of a real
// iDRAC) and the legacy DRAC web interface (web login, virtual console
// session, remote RACADM), over one power state machine.
//
//	bmc := dractest.New("root", "calvin")
//	srv := dractest.NewTLSServer(bmc)
//	defer srv.Close()
//	c, err := drac.NewRedfish(srv.URL, drac.Config{Username: "root", Password: "calvin", HTTPClient: srv.Client()})
//
// Answers whose shape no public capture shows (the legacy virtual
// console and RACADM replies, the refusals) are reconstructed from
// Dell's documentation and public client code; they are marked so in the
// source.
package dractest
