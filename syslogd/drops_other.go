//go:build !linux

package syslogd

import "net"

const oobSize = 0

func countDrops(uc *net.UDPConn) bool { return false }

func dropCount(oob []byte) (uint32, bool) { return 0, false }
