package dirstore

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// readValue reads the start of a value file: a value is one line, so
// what follows the first 4 KiB is never read. Windows keeps no
// permission bits to tell a secret by, so every value read here counts as
// a secret (mode 0600): a secret is never printed, at the price of
// redacting the values that are not.
func readValue(p string, perm bool) ([]byte, os.FileMode, error) {
	if fi, err := os.Lstat(p); err != nil {
		return nil, 0, err
	} else if !fi.Mode().IsRegular() {
		return nil, 0, &fs.PathError{Op: "open", Path: p, Err: fmt.Errorf("not a regular file")}
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, 0, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	var mode os.FileMode
	if perm {
		mode = 0o600
	}
	return buf[:n], mode, nil
}
