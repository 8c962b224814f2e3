// Package dhcpd is a DHCP and BOOTP server with PXE support, built on
// github.com/insomniacslk/dhcp.
//
// It follows the shape of net/http: a [Handler] answers one [Request]
// through a [ResponseWriter], a [HandlerFunc] adapts a function, and a
// [Server] reads packets with a bounded pool of workers and hands them to
// its Handler.
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
// [pxelator.Store] its own address, writes new machines to the store
// before it answers, and chooses a boot file from a [BootTable] by client
// architecture, with per-machine overrides and iPXE loop breaking. With
// [Config].Proxy it is a proxy DHCP server that only tells PXE clients
// what to boot, beside another DHCP server; serve it on port 67 and 4011.
//
// Package dhcptest holds a scripted PXE client for tests.
package dhcpd
