//go:build unix

package dirstore

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// readValue reads the start of a value file and its permission bits
// (when perm is set): a value is one line, so what follows the first
// 4 KiB is never read. It calls the system directly, three calls a file,
// because loading a large store is little else.
func readValue(p string, perm bool) ([]byte, os.FileMode, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, 0, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	var mode os.FileMode
	if perm {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return nil, 0, &fs.PathError{Op: "stat", Path: p, Err: err}
		}
		mode = os.FileMode(st.Mode & 0o777)
	}
	buf := make([]byte, 4096)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return nil, 0, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	return buf[:n], mode, nil
}
