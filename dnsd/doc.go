// Package dnsd answers DNS queries for the machines of a [pxelator.Store]
// and runs commands asked for by DNS name.
//
// It follows the module's conventions for protocol packages (README,
// Contributing), on top of github.com/miekg/dns: [Handler] and
// [HandlerFunc] are aliases of [dns.Handler] and [dns.HandlerFunc], so
// that miekg's middleware and this package's handlers wrap each other. A
// [Server] serves a Handler with [Server.ServePacket] for UDP sockets,
// [Server.Serve] for TCP listeners and [Server.ListenAndServe] for both
// on one address (open sockets ahead with net.ListenPacket and
// net.Listen); after [Server.Shutdown] each returns [ErrServerClosed].
//
// [StoreHandler], made by [NewStoreHandler], is the PXElator handler:
// Config.Logger (nil: slog.Default()) gets its commands and errors,
// Config.Recorder (nil: no audit) its queries. It follows the store until
// [StoreHandler.Close]. It is authoritative for one zone, say "pxe":
//
//   - A for <hostname>.pxe, the machine's address, straight from the store,
//     so that a change of the store is answered by the next query;
//   - PTR for the in-addr.arpa names of the configured networks;
//   - SOA and NS for the zone and its reverse zones, with a serial that
//     follows the store's generation;
//   - NXDOMAIN with the SOA in the authority section for unknown names, and
//     NOERROR without answers (NODATA) for other types of known names.
//
// Names outside these zones are REFUSED: the handler is never an open
// resolver. With [Config.Forward] it forwards them to upstream servers,
// for clients in [Config.ForwardClients] only.
//
// # Commands
//
// A machine that has nothing but ping can ask for something by name: ping
// resolves the name, and the query runs the command. A
// query for an A record of
//
//	<command>.<hostname>.<command zone>    e.g. wake.kiosk-01.do.pxe
//
// runs the command registered under that name with [StoreHandler.HandleCommand]
// for the machine, answers with the machine's address (TTL 0) when the
// command succeeds and SERVFAIL when it fails, and records an audit event.
// A command name may have several labels ("boot.install"). Commands are off
// unless registered, may be limited to client networks
// ([Config.CommandClients]; the client is the address the query comes
// from, a resolver's when one is in between), and a repeated query for the same command and
// machine within [Config.CommandWindow] (a resolver's retry, a flood) does
// not run it again: it gets the answer of the first run.
//
// # Transport
//
// Both UDP and TCP are served; EDNS0 is honoured (a larger UDP payload, an
// OPT record in the reply, BADVERS for versions other than 0) and UDP
// answers larger than the client's payload size are truncated with the TC
// bit set so that the client retries over TCP.
//
// Package [github.com/pxelator/pxelator/dnsd/dnstest] runs a Handler on a
// loopback port for tests.
//
// Every query is recorded through the optional [audit.Recorder] in
// [Config.Recorder] (package "dnsd", actions "query" and "command").
package dnsd
