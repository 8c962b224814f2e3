package serve

import (
	"context"
	"errors"
	"net"

	"github.com/pxelator/pxelator/internal/sockopt"
)

// Listen opens n UDP sockets (at least one) and a TCP listener on the
// same address, as a server of both (DNS, syslog) wants. More than one
// UDP socket share the address (SO_REUSEPORT, on Linux; elsewhere Listen
// opens one): the system spreads the clients over them, so that their
// readers do not contend for one socket. The TCP listener does not
// share, so that a second server on the address fails there. With port
// 0 all get the same ephemeral port: the TCP listener takes the UDP
// sockets', and when that port is taken for TCP Listen tries another.
func Listen(addr string, n int) ([]net.PacketConn, net.Listener, error) {
	var err error
	for range 10 {
		var pcs []net.PacketConn
		if pcs, err = listenUDP(addr, n); err != nil {
			return nil, nil, err
		}
		var l net.Listener
		l, err = net.Listen("tcp", pcs[0].LocalAddr().String())
		if err == nil {
			return pcs, l, nil
		}
		closeAll(pcs)
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return nil, nil, err
}

// listenUDP opens the UDP sockets of Listen.
func listenUDP(addr string, n int) ([]net.PacketConn, error) {
	if n < 2 || !sockopt.CanSharePort {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, err
		}
		return []net.PacketConn{pc}, nil
	}
	lc := net.ListenConfig{Control: sockopt.SharePort}
	var pcs []net.PacketConn
	for len(pcs) < n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			closeAll(pcs)
			return nil, err
		}
		pcs = append(pcs, pc)
		addr = pc.LocalAddr().String() // the first one's port, for port 0
	}
	return pcs, nil
}

func closeAll(pcs []net.PacketConn) {
	for _, pc := range pcs {
		pc.Close()
	}
}

// ServeBoth runs servePacket on each of pcs and serve(l), and returns
// the first error any returns. When that is not closed (the server's
// ErrServerClosed, returned after Shutdown), it closes pcs and l, so
// that the others return too.
func ServeBoth(pcs []net.PacketConn, l net.Listener, servePacket func(net.PacketConn) error, serve func(net.Listener) error, closed error) error {
	errc := make(chan error, len(pcs)+1)
	for _, pc := range pcs {
		go func() { errc <- servePacket(pc) }()
	}
	go func() { errc <- serve(l) }()
	err := <-errc
	if !errors.Is(err, closed) {
		closeAll(pcs)
		l.Close()
	}
	return err
}
