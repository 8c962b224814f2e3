//go:build !linux

package tftpd

import (
	"net"
	"net/netip"
)

// setReadBuffer sets the socket's receive buffer to n bytes.
func setReadBuffer(conn *net.UDPConn, n int) error { return conn.SetReadBuffer(n) }

// dialBlocking returns no socket: transfers always use the network
// poller.
func dialBlocking(local netip.Addr, remote netip.AddrPort) (peerConn, error) { return nil, nil }
