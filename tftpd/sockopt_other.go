//go:build !linux

package tftpd

import "net"

// setReadBuffer sets the socket's receive buffer to n bytes.
func setReadBuffer(conn *net.UDPConn, n int) error { return conn.SetReadBuffer(n) }
