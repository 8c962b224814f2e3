package dhcptest

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/pxelator/pxelator/dhcpd"
)

// ResponseRecorder is a [dhcpd.ResponseWriter] that keeps the replies it
// is given, for calling a [dhcpd.Handler] directly.
type ResponseRecorder struct {
	mu      sync.Mutex
	replies []*dhcpv4.DHCPv4
}

// Write implements dhcpd.ResponseWriter.
func (r *ResponseRecorder) Write(ctx context.Context, reply *dhcpv4.DHCPv4) error {
	r.mu.Lock()
	r.replies = append(r.replies, reply)
	r.mu.Unlock()
	return nil
}

// Replies returns the replies written so far.
func (r *ResponseRecorder) Replies() []*dhcpv4.DHCPv4 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*dhcpv4.DHCPv4(nil), r.replies...)
}

// NewRequest returns the [dhcpd.Request] a server would hand to its
// handler for packet p, received on interface "eth0" (index 1) from
// 0.0.0.0:68 at port 67. It panics when p does not parse, like
// httptest.NewRequest.
func NewRequest(p *dhcpv4.DHCPv4) *dhcpd.Request {
	req, err := dhcpd.ParseRequest(p.ToBytes())
	if err != nil {
		panic(fmt.Sprintf("dhcptest: %v", err))
	}
	req.Peer = netip.AddrPortFrom(netip.IPv4Unspecified(), dhcpd.ClientPort)
	req.Local = netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), dhcpd.ServerPort)
	req.IfIndex, req.IfName = 1, "eth0"
	return req
}
