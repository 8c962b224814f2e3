// Package dnstest runs a DNS server on the loopback interface for tests,
// as net/http/httptest does for HTTP.
package dnstest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/internal/serve"
)

// Server is a DNS server listening on 127.0.0.1 over UDP and TCP on the
// same ephemeral port.
type Server struct {
	// Addr is the host:port the server listens on, e.g. "127.0.0.1:34567".
	Addr string

	srv  *dnsd.Server
	done chan error
}

// NewServer starts a server answering with h. It panics when it cannot
// listen, as httptest.NewServer does. Call Close when done.
func NewServer(h dnsd.Handler) *Server {
	pcs, l, err := serve.Listen("127.0.0.1:0", 1)
	if err != nil {
		panic(fmt.Sprintf("dnstest: %v", err))
	}
	s := &Server{Addr: pcs[0].LocalAddr().String(), srv: &dnsd.Server{Handler: h}, done: make(chan error, 2)}
	go func() { s.done <- s.srv.ServePacket(pcs[0]) }()
	go func() { s.done <- s.srv.Serve(l) }()
	return s
}

// Exchange sends m to the server over net ("udp" or "tcp") and returns
// the reply.
func (s *Server) Exchange(ctx context.Context, net string, m *dns.Msg) (*dns.Msg, error) {
	c := &dns.Client{Net: net, Timeout: 10 * time.Second}
	r, _, err := c.ExchangeContext(ctx, m, s.Addr)
	return r, err
}

// Close shuts the server down and waits for it to stop.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	for range 2 {
		if serr := <-s.done; !errors.Is(serr, dnsd.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
	}
	return err
}
