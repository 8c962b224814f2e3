package dnsd

import (
	"context"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// forwarder passes queries for names outside the handler's zones to
// upstream servers, for allowed clients only.
type forwarder struct {
	upstreams []string
	clients   []netip.Prefix
	udp, tcp  *dns.Client
}

func newForwarder(upstreams []string, clients []netip.Prefix, timeout time.Duration) *forwarder {
	return &forwarder{
		upstreams: upstreams,
		clients:   clients,
		udp:       &dns.Client{Net: "udp", Timeout: timeout, UDPSize: ednsSize},
		tcp:       &dns.Client{Net: "tcp", Timeout: timeout},
	}
}

// forward asks each upstream in turn, over TCP when the client asked over
// TCP, and returns the first answer, or SERVFAIL when none answers.
func (f *forwarder) forward(ctx context.Context, req *dns.Msg, tcp bool) *dns.Msg {
	c := f.udp
	if tcp {
		c = f.tcp
	}
	if opt := req.IsEdns0(); opt != nil && !tcp {
		// Ask with our own buffer size; finish truncates to the client's.
		req = req.Copy()
		req.IsEdns0().SetUDPSize(ednsSize)
	}
	for _, up := range f.upstreams {
		resp, _, err := c.ExchangeContext(ctx, req, up)
		if err == nil {
			resp.Id = req.Id
			return resp
		}
	}
	return new(dns.Msg).SetRcode(req, dns.RcodeServerFailure)
}
