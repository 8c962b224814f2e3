package journal

import (
	"os"

	"golang.org/x/sys/unix"
)

// fdatasync makes the data of f durable, and its size, not its times.
func fdatasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
