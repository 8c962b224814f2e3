//go:build !linux

package pxelator

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync makes the data of f durable.
func fdatasync(f *os.File) error { return f.Sync() }

// syncfs flushes every file system: there is no syncfs(2) here.
func syncfs(string) error {
	unix.Sync()
	return nil
}
