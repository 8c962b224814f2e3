package dirstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// syncfs makes the machine directories under root durable. Windows has no
// syncfs(2) (flushing a whole volume takes an administrator), so it syncs
// every value file under root, one after the other: a checkpoint takes
// time in proportion to the whole store.
func syncfs(root string) error {
	files, err := filepath.Glob(filepath.Join(root, "*", "*", "*"))
	if err != nil {
		return fmt.Errorf("dirstore: sync: %w", err)
	}
	for _, p := range files {
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			continue // gone since, or not a value file
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil {
			err = errors.Join(f.Sync(), f.Close())
		}
		if err != nil {
			return fmt.Errorf("dirstore: sync %s: %w", p, err)
		}
	}
	return nil
}
