package dnsd_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator/dnsd"
)

func TestServerShutdownBeforeServe(t *testing.T) {
	s := &dnsd.Server{Handler: dns.HandlerFunc(bigUpstream)}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ServePacket(pc); !errors.Is(err, dnsd.ErrServerClosed) {
		t.Errorf("ServePacket after Shutdown: %v, want ErrServerClosed", err)
	}
	if err := s.Serve(l); !errors.Is(err, dnsd.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v, want ErrServerClosed", err)
	}
	if err := s.ServePacket(nil); err == nil {
		t.Error("ServePacket without a connection did not fail")
	}
	if err := s.Serve(nil); err == nil {
		t.Error("Serve without a listener did not fail")
	}
	if err := s.ListenAndServe(); !errors.Is(err, dnsd.ErrServerClosed) {
		t.Errorf("ListenAndServe after Shutdown: %v, want ErrServerClosed", err)
	}
}

func TestServerUDPOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dnsd.Server{Handler: dns.HandlerFunc(bigUpstream)}
	done := make(chan error, 1)
	go func() { done <- s.ServePacket(pc) }()
	c := &dns.Client{Timeout: 10 * time.Second}
	r, _, err := c.ExchangeContext(ctx, new(dns.Msg).SetQuestion("a.example.", dns.TypeA), pc.LocalAddr().String())
	if err != nil || !r.Truncated {
		t.Errorf("UDP: %v, %v", r, err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, dnsd.ErrServerClosed) {
		t.Errorf("ServePacket: %v, want ErrServerClosed", err)
	}
}

// TestListenAndServe serves UDP and TCP on one address until Shutdown; a
// second server on the same address fails to listen.
func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, addr, done := listenAndServe(ctx, t)
	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: 10 * time.Second}
		r, _, err := c.ExchangeContext(ctx, new(dns.Msg).SetQuestion("a.example.", dns.TypeA), addr)
		if err != nil || r.Truncated != (network == "udp") {
			t.Errorf("%s: %v, %v", network, r, err)
		}
	}
	// A server that listened after all would serve until Shutdown.
	second := &dnsd.Server{Addr: addr}
	inUse := make(chan error, 1)
	go func() { inUse <- second.ListenAndServe() }()
	select {
	case err := <-inUse:
		if err == nil || errors.Is(err, dnsd.ErrServerClosed) {
			t.Errorf("ListenAndServe on an address in use: %v, want an error", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("ListenAndServe on an address in use serves")
		second.Shutdown(ctx)
		<-inUse
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, dnsd.ErrServerClosed) {
		t.Errorf("ListenAndServe: %v, want ErrServerClosed", err)
	}
}

// listenAndServe starts a server on a loopback port free for UDP and
// returns it once it answers, with its address and what ListenAndServe
// returns. The port's TCP twin may be taken meanwhile (by another test's
// connection): ListenAndServe then fails at once, and another port is
// tried.
func listenAndServe(ctx context.Context, t *testing.T) (*dnsd.Server, string, chan error) {
	t.Helper()
	var err error
	for range 5 {
		probe, perr := net.ListenPacket("udp", "127.0.0.1:0")
		if perr != nil {
			t.Fatal(perr)
		}
		addr := probe.LocalAddr().String()
		probe.Close()
		s := &dnsd.Server{Addr: addr, Handler: dns.HandlerFunc(bigUpstream)}
		done := make(chan error, 1)
		go func() { done <- s.ListenAndServe() }()
		c := &dns.Client{Timeout: time.Second}
		for ctx.Err() == nil { // until the server answers, or fails to listen
			if _, _, err = c.ExchangeContext(ctx, new(dns.Msg).SetQuestion("a.example.", dns.TypeA), addr); err == nil {
				return s, addr, done
			}
			select {
			case err = <-done:
			case <-time.After(10 * time.Millisecond):
				continue
			}
			break
		}
		t.Logf("ListenAndServe on %s: %v", addr, err)
	}
	t.Fatalf("no server started: %v", err)
	return nil, "", nil
}
