package dirstore

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncfs flushes the whole file system that holds path: one call for
// every machine directory written since the last one.
func syncfs(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("dirstore: sync: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("dirstore: sync %s: %w", path, err)
	}
	return nil
}
