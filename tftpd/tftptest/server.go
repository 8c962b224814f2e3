// Package tftptest provides a TFTP server on a loopback port and a small
// scripted TFTP client for tests of tftpd handlers, in the manner of
// net/http/httptest.
package tftptest

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator/tftpd"
)

// A Server is a tftpd.Server listening on an ephemeral port of 127.0.0.1.
type Server struct {
	// Addr is the address the server listens on.
	Addr netip.AddrPort
	// Config is the server; set its fields before Start when the server
	// comes from NewUnstartedServer.
	Config *tftpd.Server

	conn net.PacketConn
	done chan error
}

// NewServer starts and returns a server serving h. Close it after use.
func NewServer(h tftpd.Handler) *Server {
	s := NewUnstartedServer(h)
	s.Start()
	return s
}

// NewUnstartedServer returns a server serving h that is listening but not
// yet answering: change s.Config, then call Start.
func NewUnstartedServer(h tftpd.Handler) *Server {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		panic("tftptest: listening on a loopback port: " + err.Error())
	}
	return &Server{
		Addr:   conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		Config: &tftpd.Server{Handler: h},
		conn:   conn,
		done:   make(chan error, 1),
	}
}

// Start starts answering requests.
func (s *Server) Start() {
	go func() { s.done <- s.Config.ServePacket(s.conn) }()
}

// Close shuts the server down, waiting up to 10 s for running transfers.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.Config.Shutdown(ctx)
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}
