package serve

import (
	"errors"
	"net"
)

// Listen opens a UDP socket and a TCP listener on the same address, as a
// server of both (DNS, syslog) wants. With port 0 both get the same
// ephemeral port: the TCP listener takes the UDP socket's, and when that
// port is taken for TCP Listen tries another.
func Listen(addr string) (net.PacketConn, net.Listener, error) {
	var err error
	for range 10 {
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
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
	return nil, nil, err
}

// ServeBoth runs servePacket(pc) and serve(l) and returns the first
// error either returns. When that is not closed (the server's
// ErrServerClosed, returned after Shutdown), it closes pc and l, so that
// the other returns too.
func ServeBoth(pc net.PacketConn, l net.Listener, servePacket func(net.PacketConn) error, serve func(net.Listener) error, closed error) error {
	errc := make(chan error, 2)
	go func() { errc <- servePacket(pc) }()
	go func() { errc <- serve(l) }()
	err := <-errc
	if !errors.Is(err, closed) {
		pc.Close()
		l.Close()
	}
	return err
}
