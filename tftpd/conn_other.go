//go:build !linux

package tftpd

import "net/netip"

// dialBlocking returns no socket: transfers always use the network
// poller.
func dialBlocking(local netip.Addr, remote netip.AddrPort) (peerConn, error) { return nil, nil }
