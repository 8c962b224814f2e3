// Package syslogtest provides utilities for tests of code that sends or
// receives syslog: a [Recorder] handler that keeps every message, and a
// [Server] listening on loopback UDP and TCP ports, in the manner of
// net/http/httptest.
package syslogtest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/pxelator/pxelator/syslogd"
)

// Recorder is a [syslogd.Handler] that keeps every message it is given.
// The zero value is ready to use.
type Recorder struct {
	mu   sync.Mutex
	msgs []*syslogd.Message
	cond chan struct{} // closed and replaced on every message
}

// ServeSyslog implements syslogd.Handler.
func (r *Recorder) ServeSyslog(ctx context.Context, m *syslogd.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	if r.cond != nil {
		close(r.cond)
		r.cond = nil
	}
	r.mu.Unlock()
}

// Messages returns the messages received so far, in order.
func (r *Recorder) Messages() []*syslogd.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

// Wait blocks until at least n messages have been received and returns
// them, or returns what there is and an error when ctx is done first.
func (r *Recorder) Wait(ctx context.Context, n int) ([]*syslogd.Message, error) {
	for {
		r.mu.Lock()
		if len(r.msgs) >= n {
			msgs := slices.Clone(r.msgs)
			r.mu.Unlock()
			return msgs, nil
		}
		if r.cond == nil {
			r.cond = make(chan struct{})
		}
		c := r.cond
		r.mu.Unlock()
		select {
		case <-c:
		case <-ctx.Done():
			msgs := r.Messages()
			return msgs, fmt.Errorf("syslogtest: %d of %d messages: %w", len(msgs), n, ctx.Err())
		}
	}
}

// Server is a [syslogd.Server] serving on a loopback UDP port and a
// loopback TCP port chosen by the system.
type Server struct {
	*syslogd.Server
	UDPAddr netip.AddrPort // where to send datagrams
	TCPAddr netip.AddrPort // where to connect

	done chan error
}

// NewServer starts srv on 127.0.0.1 ports chosen by the system. Close
// stops it. It panics when it cannot listen, like httptest.NewServer.
func NewServer(srv *syslogd.Server) *Server {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic("syslogtest: " + err.Error())
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		pc.Close()
		panic("syslogtest: " + err.Error())
	}
	s := &Server{
		Server:  srv,
		UDPAddr: pc.LocalAddr().(*net.UDPAddr).AddrPort(),
		TCPAddr: l.Addr().(*net.TCPAddr).AddrPort(),
		done:    make(chan error, 2),
	}
	go func() { s.done <- srv.ServePacket(pc) }()
	go func() { s.done <- srv.Serve(l) }()
	return s
}

// Close shuts the server down, waiting up to 10 seconds for messages
// being handled.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Shutdown(ctx)
	for range 2 {
		<-s.done
	}
	return err
}
