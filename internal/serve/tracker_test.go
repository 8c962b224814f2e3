package serve_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxelator/pxelator/internal/serve"
	"github.com/pxelator/pxelator/internal/sockopt"
)

// closer counts its Close calls.
type closer struct{ n atomic.Int32 }

func (c *closer) Close() error { c.n.Add(1); return nil }

func TestTrackerShutdownClosesAndWaits(t *testing.T) {
	var tr serve.Tracker
	c := &closer{}
	release, ok := tr.Track(c)
	if !ok {
		t.Fatal("Track before Shutdown refused")
	}
	if !tr.Add() {
		t.Fatal("Add before Shutdown refused")
	}
	ctx, cancel := tr.Context()
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- tr.Shutdown(context.Background()) }()
	// Shutdown closes the tracked closer at once, and waits for the work.
	for c.n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if !tr.Closed() {
		t.Error("Closed is false during Shutdown")
	}
	if tr.Add() {
		t.Error("Add during Shutdown accepted")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with work in flight", err)
	default:
	}
	if ctx.Err() != nil {
		t.Error("the work's context was canceled before Shutdown stopped waiting")
	}
	release()
	release() // a second call does nothing
	tr.Done()
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := c.n.Load(); n != 2 {
		t.Errorf("closer closed %d times, want 2 (by Shutdown and by release)", n)
	}
	if ctx.Err() == nil {
		t.Error("the work's context is not canceled after Shutdown")
	}
}

func TestTrackerAfterShutdown(t *testing.T) {
	var tr serve.Tracker
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := &closer{}
	if _, ok := tr.Track(c); ok {
		t.Error("Track after Shutdown accepted")
	}
	if c.n.Load() != 1 {
		t.Error("Track after Shutdown did not close its closer")
	}
	if tr.Add() {
		t.Error("Add after Shutdown accepted")
	}
	ctx, cancel := tr.Context()
	defer cancel()
	if ctx.Err() == nil {
		t.Error("a context made after Shutdown is not canceled")
	}
	tr.Wait()
}

func TestTrackerShutdownDeadline(t *testing.T) {
	var tr serve.Tracker
	if !tr.Add() {
		t.Fatal("Add refused")
	}
	ctx, cancel := tr.Context()
	defer cancel()
	stopped := make(chan struct{})
	go func() { // work that ends only when canceled
		<-ctx.Done()
		tr.Done()
		close(stopped)
	}()
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if err := tr.Shutdown(short); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown = %v, want context.Canceled", err)
	}
	<-stopped
	tr.Wait()
}

func TestListen(t *testing.T) {
	for _, n := range []int{1, 3} {
		pcs, l, err := serve.Listen("127.0.0.1:0", n)
		if err != nil {
			t.Fatal(err)
		}
		want := n
		if !sockopt.CanSharePort {
			want = 1
		}
		if len(pcs) != want {
			t.Errorf("Listen(%d): %d UDP sockets, want %d", n, len(pcs), want)
		}
		for _, pc := range pcs {
			if u, tc := pc.LocalAddr().(*net.UDPAddr), l.Addr().(*net.TCPAddr); u.Port != tc.Port {
				t.Errorf("Listen(%d): UDP port %d, TCP port %d, want the same", n, u.Port, tc.Port)
			}
		}
		// A second server fails, whether its sockets could share or not.
		for _, m := range []int{1, n} {
			if _, _, err := serve.Listen(pcs[0].LocalAddr().String(), m); err == nil {
				t.Errorf("Listen(%d) on a port in use by Listen(%d) did not fail", m, n)
			}
		}
		for _, pc := range pcs {
			pc.Close()
		}
		l.Close()
	}
	if _, _, err := serve.Listen("no-such-host.invalid:53", 2); err == nil {
		t.Error("Listen on a bad address did not fail")
	}
}

// TestListenSpreads checks that the UDP sockets of one port each get
// datagrams, from clients on different ports.
func TestListenSpreads(t *testing.T) {
	if !sockopt.CanSharePort {
		t.Skip("sockets share ports only on Linux")
	}
	pcs, l, err := serve.Listen("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan int, 1000)
	for i, pc := range pcs {
		defer pc.Close()
		go func() {
			buf := make([]byte, 16)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
				got <- i
			}
		}()
	}
	for range 64 { // 64 clients: the chance that one socket gets none is 2^-63
		c, err := net.Dial("udp", pcs[0].LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("x"))
		c.Close()
	}
	var each [2]int
	for range 64 {
		select {
		case i := <-got:
			each[i]++
		case <-time.After(5 * time.Second):
			t.Fatalf("datagrams lost: got %v of 64", each)
		}
	}
	if each[0] == 0 || each[1] == 0 {
		t.Errorf("datagrams per socket: %v, want some on each", each)
	}
}

// TestServeBoth: when one side fails, the other's socket is closed; when
// one returns the closed error, the other is left to return by itself.
func TestServeBoth(t *testing.T) {
	errClosed := errors.New("closed")
	failed := errors.New("failed")
	pcs, l, err := serve.Listen("127.0.0.1:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan error, 1)
	err = serve.ServeBoth(pcs, l,
		func(net.PacketConn) error { return failed },
		func(l net.Listener) error { _, err := l.Accept(); accepted <- err; return err },
		errClosed)
	if !errors.Is(err, failed) {
		t.Errorf("ServeBoth = %v, want the failure", err)
	}
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("the stream side: %v, want its listener closed", err)
	}

	pcs, l, err = serve.Listen("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, pc := range pcs {
			pc.Close()
		}
	}()
	defer l.Close()
	err = serve.ServeBoth(pcs, l,
		func(net.PacketConn) error { return errClosed },
		func(l net.Listener) error { _, err := l.Accept(); return err }, // until the deferred Close
		errClosed)
	if !errors.Is(err, errClosed) {
		t.Errorf("ServeBoth = %v, want the closed error", err)
	}
	for _, pc := range pcs {
		if _, err := pc.WriteTo([]byte("x"), pc.LocalAddr()); err != nil {
			t.Errorf("a packet socket was closed after the closed error: %v", err)
		}
	}
}
