//go:build !linux

package journal

import "os"

// fdatasync makes the data of f durable.
func fdatasync(f *os.File) error { return f.Sync() }
