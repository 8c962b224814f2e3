//go:build !linux

package sockopt

import "net"

// SetReadBuffer asks for a receive buffer of n bytes for conn.
func SetReadBuffer(conn *net.UDPConn, n int) error { return conn.SetReadBuffer(n) }
