package dhcpd

import (
	"context"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// A Handler answers DHCP and BOOTP requests. ServeDHCP may write any
// number of replies, usually zero or one, through w. It may also answer
// later, from another goroutine: the ResponseWriter and Request a [Server]
// passes stay valid after ServeDHCP returns (a reply after Shutdown
// fails), so a handler that waits for something slow need not hold one of
// the server's workers.
type Handler interface {
	ServeDHCP(ctx context.Context, w ResponseWriter, req *Request)
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, w ResponseWriter, req *Request)

// ServeDHCP calls f(ctx, w, req).
func (f HandlerFunc) ServeDHCP(ctx context.Context, w ResponseWriter, req *Request) { f(ctx, w, req) }

// ResponseWriter sends replies to the client of one request.
type ResponseWriter interface {
	// Write sends reply to where RFC 2131 §4.1 says it goes for the
	// request (see [Destination]), on the interface the request came in.
	Write(ctx context.Context, reply *dhcpv4.DHCPv4) error
}
