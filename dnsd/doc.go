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
// resolves the name, and the query runs the command. A query for an A
// record of
//
//	<command>.<hostname>.<command zone>            e.g. wake.kiosk-01.do.pxe (a bare name)
//	<command>.<hostname>.<token>.<command zone>    e.g. off.kiosk-01.k3x9q2m7w4p8z6n5.do.pxe
//
// runs the command registered under that name with [StoreHandler.Handle]
// or [StoreHandler.HandleCommand] for the machine, answers with the
// machine's address (TTL 0) when the command succeeds and SERVFAIL when
// it fails, and records an audit event. A command name may have several
// labels ("boot.install"). AAAA and other types of a command name are
// answered without running anything, as the second query of a ping.
//
// A DNS query proves nothing by itself: it needs no answer, so its UDP
// source address can be forged, and a machine's browser looks up any name
// a web page names. Commands are therefore off, every name of the command
// zone REFUSED, unless the [Config] allows at least one proof, and each
// proof lets through only what its threat allows:
//
//   - A token ([Config.CommandTokens], [Tokens]): the name carries an
//     HMAC of the command, the host name and a time window, made with a
//     key only the server (and whoever it gives the key to: the
//     reference server's dns-token helper, its web page) holds, valid
//     for one to two windows. It proves the asker was given the name, not
//     where the asker is, so it works from anywhere, through resolvers
//     and over UDP. Threat: whoever sees the name while it is valid (on
//     a screen, in a shell history, in clear text on the network) can
//     ask for it; a name with a token therefore runs once: the same
//     name again, while valid, gets the answer of that run. The audit
//     and the logs record such names with the token left out. Whoever
//     has the key can make every token: keep it out of git, readable by
//     the server only.
//   - The machine itself ([Config.CommandSelf]): a bare name for the
//     machine at the query's source address. Threat: everything that runs
//     on the machine, a web page its browser opens included, and whoever
//     takes over its address.
//   - Listed networks ([Config.CommandClients]): a bare name from a
//     client in one of the networks, only networks listed explicitly
//     (nil allows none). Threat: every host of those networks and every
//     page their browsers open; behind a resolver, the client is the
//     resolver, so that all its clients share its rights.
//
// Bare names prove only an address, and a UDP source address is forged
// with one packet: to a bare name over UDP the handler answers with the
// TC bit and runs nothing, and the client's resolver asks again over TCP
// (glibc's, musl's, dig and browsers do), whose handshake the forger,
// not on the path, cannot complete. A [Command] marked Destructive
// (switching a machine off, cycling or resetting it, changing how it
// boots) never runs from a bare name, only with a token, so that no web
// page and no neighbour can take a machine from its user.
//
// A refused query gets REFUSED, is counted ([StoreHandler.Stats]) and is
// recorded (action "refused", with the reason). A repeated bare query
// for the same command and machine within [Config.CommandWindow] (a
// resolver's retry, a flood) does not run it again: it gets the answer
// of the first run.
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
// [Config.Recorder] (package "dnsd", actions "query", "command" and
// "refused").
package dnsd
