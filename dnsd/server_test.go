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
	pc, l, err := dnsd.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(pc, l); !errors.Is(err, dnsd.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v, want ErrServerClosed", err)
	}
	if err := s.Serve(nil, nil); err == nil {
		t.Error("Serve without connections did not fail")
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
	go func() { done <- s.Serve(pc, nil) }()
	c := &dns.Client{Timeout: 10 * time.Second}
	r, _, err := c.ExchangeContext(ctx, new(dns.Msg).SetQuestion("a.example.", dns.TypeA), pc.LocalAddr().String())
	if err != nil || !r.Truncated {
		t.Errorf("UDP: %v, %v", r, err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, dnsd.ErrServerClosed) {
		t.Errorf("Serve: %v, want ErrServerClosed", err)
	}
}

func TestListenErrors(t *testing.T) {
	pc, l, err := dnsd.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	defer l.Close()
	if _, _, err := dnsd.Listen(pc.LocalAddr().String()); err == nil {
		t.Error("Listen on a port in use did not fail")
	}
	if _, _, err := dnsd.Listen("no-such-host.invalid:53"); err == nil {
		t.Error("Listen on a bad address did not fail")
	}
}
