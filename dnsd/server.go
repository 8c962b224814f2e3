package dnsd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown.
var ErrServerClosed = errors.New("dnsd: server closed")

// Server serves a [dns.Handler] over UDP and TCP on one address.
type Server struct {
	// Addr is the address to listen on, ":53" when empty.
	Addr string
	// Handler answers the queries.
	Handler dns.Handler

	mu      sync.Mutex
	closed  bool
	servers []*dns.Server
	started []chan struct{}
}

// Listen opens a UDP socket and a TCP listener on the same address. With
// port 0 both get the same ephemeral port.
func Listen(addr string) (net.PacketConn, net.Listener, error) {
	if addr == "" {
		addr = ":53"
	}
	var err error
	for range 10 { // an ephemeral UDP port may be taken for TCP: try again
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dnsd: %w", err)
		}
		var l net.Listener
		l, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, nil, fmt.Errorf("dnsd: %w", err)
}

// ListenAndServe listens on s.Addr over UDP and TCP and serves queries
// until Shutdown.
func (s *Server) ListenAndServe() error {
	pc, l, err := Listen(s.Addr)
	if err != nil {
		return err
	}
	return s.Serve(pc, l)
}

// Serve serves queries arriving on pc (UDP) and l (TCP), either of which
// may be nil, until Shutdown. It closes both.
func (s *Server) Serve(pc net.PacketConn, l net.Listener) error {
	var srvs []*dns.Server
	if pc != nil {
		srvs = append(srvs, &dns.Server{PacketConn: pc, Handler: s.Handler})
	}
	if l != nil {
		srvs = append(srvs, &dns.Server{Listener: l, Handler: s.Handler})
	}
	if len(srvs) == 0 {
		return errors.New("dnsd: serve: no connection to serve")
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		closeAll(pc, l)
		return ErrServerClosed
	}
	errc := make(chan error, len(srvs))
	for _, srv := range srvs {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		s.servers = append(s.servers, srv)
		s.started = append(s.started, started)
		go func() { errc <- srv.ActivateAndServe() }()
	}
	s.mu.Unlock()
	first := <-errc
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !closed { // one transport failed: stop the other
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.Shutdown(ctx)
		cancel()
	}
	for range len(srvs) - 1 {
		<-errc
	}
	if closed || first == nil {
		return ErrServerClosed
	}
	return fmt.Errorf("dnsd: %w", first)
}

// Shutdown stops the server: it stops reading queries and waits, until
// ctx is done, for the queries being answered.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	srvs, started := s.servers, s.started
	s.mu.Unlock()
	var errs []error
	for i, srv := range srvs {
		select {
		case <-started[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := srv.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dnsd: shutdown: %w", err)
	}
	return nil
}

func closeAll(pc net.PacketConn, l net.Listener) {
	if pc != nil {
		pc.Close()
	}
	if l != nil {
		l.Close()
	}
}
