// Package dhcpd is a DHCP and BOOTP server with PXE support, built on
// github.com/insomniacslk/dhcp.
//
// It follows the shape of net/http and the module's conventions for
// protocol packages (README, Contributing): a [Handler] answers one
// [Request] through a [ResponseWriter], a [HandlerFunc] adapts a function,
// and a [Server] reads packets with a bounded pool of workers and hands
// them to its Handler. DHCP is datagrams only: [Server.ServePacket] serves
// a UDP socket, [Server.ListenPacket] opens the one the server needs
// (bound to Server.Interface with SO_BINDTODEVICE, broadcasts allowed, a
// large receive buffer) ahead of serving, [Server.ListenAndServe] does
// both, and after [Server.Shutdown] they return [ErrServerClosed]. The
// Server's Logger (nil: slog.Default()) gets bad packets and errors, its
// Recorder (nil: no audit) every packet; [Config] has the same two fields
// for the StoreHandler.
//
// A Request carries what the library's own server does not tell: the
// interface the packet arrived on (from IP_PKTINFO control messages), the
// relay address (giaddr) and relay agent information (option 82), and a
// precomputed PXE classification ([PXE]): the client architecture
// (option 93), whether the client is a PXEClient or HTTPClient (option
// 60), whether it already runs iPXE (option 77 user class, option 175) and
// its GUID (option 97).
//
// The ResponseWriter of a Server applies the delivery rules of RFC 2131
// §4.1 in one place (see [Destination]): a reply goes to the relay, to the
// client's ciaddr, or is broadcast.
//
// [StoreHandler] is the PXElator handler: it gives every machine of a
// [pxelator.Store] its own address. Forged and stray packets cannot take
// its pool or its machines:
//
//   - an OFFER to a new MAC holds an address in memory only, for a short
//     time; once every address is taken the oldest offer gives way, so
//     DISCOVERs from random MACs write nothing and never lock a real
//     client out;
//   - the REQUEST writes the machine and the ACK leaves once it is durable
//     (RFC 2131 §4.3.1; for a dirstore, in its journal), so that the
//     writes of a boot storm share the store's syncs; no more writes are
//     admitted than the store completes in half a second (the clients ask
//     again), so a slow disk sheds load instead of queueing it;
//   - new machines are limited per interface ([Limit], on by default),
//     and relayed requests are answered only from the relays configured
//     ([Config].Relays), in a bucket per interface of their own;
//   - a full pool takes back machines that DHCP created ([AttrCreated]),
//     that nobody touched and whose lease has run out;
//   - a client the store does not know gets no answer to a REQUEST that
//     is not for this server (RFC 2131 §4.3.2), a DECLINE is believed
//     only for the address of a running lease this server gave, and a
//     declined address comes back after a quarantine;
//   - what packets cause is logged at most once per 10 s per kind.
//
// It chooses a boot file from a [BootTable] by client architecture, with
// per-machine overrides and iPXE loop breaking. With [Config].Proxy it is
// a proxy DHCP server that only tells PXE clients what to boot, beside
// another DHCP server; serve it on port 67 and 4011.
//
// Package [github.com/pxelator/pxelator/dhcpd/dhcptest] holds a scripted
// PXE client and a ResponseRecorder for tests.
package dhcpd
