package pxelator

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync makes the data of f durable, and its size, not its times.
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// syncfs flushes the whole file system that holds path: one call for
// every machine directory written since the last one.
func syncfs(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("pxelator: sync: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("pxelator: sync %s: %w", path, err)
	}
	return nil
}
