package dnsd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"syscall"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator/internal/serve"
	"github.com/pxelator/pxelator/internal/sockopt"
)

// ErrServerClosed is returned by Serve, ServePacket and ListenAndServe
// after Shutdown.
var ErrServerClosed = errors.New("dnsd: server closed")

// Server serves a [Handler] over UDP ([Server.ServePacket]) and TCP
// ([Server.Serve]), with the server of package github.com/miekg/dns for
// each socket. The zero value is ready to use; fields must not change
// after serving began.
type Server struct {
	// Addr is the UDP and TCP address ListenAndServe listens on, ":53"
	// when empty.
	Addr string
	// Handler answers the queries.
	Handler Handler

	track serve.Tracker // the dns.Servers, one per socket
}

// ListenAndServe listens on s.Addr over UDP and TCP, on one port, and
// serves queries until Shutdown or until either fails. On Linux it opens
// a UDP socket per processor, sharing the port (see [UDPSockets]).
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = ":53"
	}
	pcs, l, err := serve.Listen(addr, UDPSockets())
	if err != nil {
		return fmt.Errorf("dnsd: %w", err)
	}
	return serve.ServeBoth(pcs, l, s.ServePacket, s.Serve, ErrServerClosed)
}

// UDPSockets is how many UDP sockets ListenAndServe opens on one port:
// one per processor. On Linux they share the port (SO_REUSEPORT), and the
// kernel spreads the clients over them, each served by a reader of its
// own, as NSD and Knot serve; a socket that shares its port gets one
// reader in ServePacket.
func UDPSockets() int { return runtime.GOMAXPROCS(0) }

// ServePacket serves queries arriving on the UDP socket pc until
// Shutdown, and then returns ErrServerClosed. It closes pc.
//
// A [StoreHandler] (not wrapped in middleware) answers the A and PTR
// queries of the machines it knows on a fast path, from the bytes of the
// query, with a reader per two processors reading and writing batches of
// datagrams (one reader on a socket that shares its port with others);
// every other query is answered through ServeDNS.
func (s *Server) ServePacket(pc net.PacketConn) error {
	if pc == nil {
		return errors.New("dnsd: serve: no packet connection")
	}
	fast, ok := s.Handler.(packetAnswerer)
	if !ok {
		return s.serve(&dns.Server{PacketConn: pc, Handler: s.Handler}, pc)
	}
	defer pc.Close()
	batcher := newBatcher(pc)
	readers := fastReaders()
	if sc, ok := pc.(syscall.Conn); ok && sockopt.SharesPort(sc) {
		readers = 1 // the other sockets of the port have theirs
	}
	errs := make(chan error, readers)
	for range readers {
		srv := &dns.Server{PacketConn: packetConn{pc}, Handler: s.Handler,
			DecorateReader: func(r dns.Reader) dns.Reader { return newFastReader(r, fast, batcher) }}
		go func() { errs <- s.serve(srv, io.NopCloser(nil)) }()
	}
	var first error
	for range readers {
		err := <-errs
		if first == nil || errors.Is(first, ErrServerClosed) {
			first = err
		}
		if !errors.Is(err, ErrServerClosed) {
			pc.Close() // one reader failed: the others stop too
		}
	}
	return first
}

// Serve accepts TCP connections on l and serves their queries until
// Shutdown, and then returns ErrServerClosed. It closes l.
func (s *Server) Serve(l net.Listener) error {
	if l == nil {
		return errors.New("dnsd: serve: no listener")
	}
	return s.serve(&dns.Server{Listener: l, Handler: s.Handler}, l)
}

// serve runs srv, which serves the socket c, until Shutdown.
func (s *Server) serve(srv *dns.Server, c io.Closer) error {
	defer c.Close()
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	ctx, cancel := s.track.Context() // canceled when Shutdown stops waiting
	defer cancel()
	release, ok := s.track.Track(&stopper{srv: srv, started: started, ctx: ctx})
	if !ok {
		return ErrServerClosed
	}
	defer release()
	err := srv.ActivateAndServe()
	if err == nil || s.track.Closed() {
		return ErrServerClosed
	}
	return fmt.Errorf("dnsd: %w", err)
}

// A stopper is how Shutdown stops one dns.Server: once the server has
// started, it stops reading and waits for the queries being answered (a
// UDP socket stays open for their replies), or until ctx, the context of
// that server's serve call, is done.
type stopper struct {
	srv     *dns.Server
	started <-chan struct{}
	ctx     context.Context
	once    sync.Once
}

// Close begins to stop the server, once, and returns at once: the
// Tracker waits for serve to return.
func (st *stopper) Close() error {
	st.once.Do(func() {
		go func() {
			select {
			case <-st.started:
				st.srv.ShutdownContext(st.ctx)
			case <-st.ctx.Done(): // it never started
			}
		}()
	})
	return nil
}

// Shutdown stops the server: it stops reading queries and waits, until
// ctx is done, for the queries being answered.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.track.Shutdown(ctx); err != nil {
		return fmt.Errorf("dnsd: shutdown: %w", err)
	}
	return nil
}

// fastReaders is how many readers serve one UDP socket on the fast path:
// one per two processors. A reader answers faster than the kernel brings
// it queries, so more readers mostly wake each other and contend for the
// socket (measured on 2 processors under dnsperf: 2.2-2.5 us of server
// processor time per query with one reader, 2.7-4.9 us with two, for the
// same queries per second).
func fastReaders() int { return max(1, runtime.GOMAXPROCS(0)/2) }
