//go:build !linux

package sockopt

import (
	"errors"
	"syscall"
)

// CanSharePort reports whether this system lets sockets share a port.
const CanSharePort = false

// SharePort fails: sockets share ports here only on Linux.
func SharePort(_, _ string, _ syscall.RawConn) error { return errors.ErrUnsupported }

// SharesPort reports false.
func SharesPort(syscall.Conn) bool { return false }
