// Package journal is a write-ahead log: records appended by concurrent
// writers are made durable together, and handed on in the order of the
// log before their writers return.
//
// A record is one JSON object a line. The writers that arrive while one
// write and fdatasync(2) of the file run share the next one (a group
// commit). Rotate sets the file aside between two groups and starts an
// empty one while writers go on; RemoveAside drops the file set aside once
// what it holds is durable elsewhere. Read returns what a crash left,
// ignoring the torn end of a write the crash interrupted.
package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// AsideSuffix is added to the name of a log's file for the file Rotate
// sets aside.
const AsideSuffix = ".old"

// Log is a write-ahead log of records of type T, in a file of mode 0600
// (records may hold secrets). Its methods are safe for concurrent use,
// except Read and Reset, which no Append may overlap.
type Log[T any] struct {
	path    string  // the file appended to; path+AsideSuffix is set aside
	durable func(T) // takes each record once it is durable, in order

	mu       sync.Mutex
	idle     *sync.Cond   // signals running turning false
	f        *os.File     // replaced by Rotate while running is set
	buf      []byte       // records waiting for the next write
	spare    []byte       // the other buffer, reused
	records  []T          // the records in buf
	waiters  []chan error // writers waiting for the next write
	running  bool         // someone is writing and syncing for the others, or rotating
	pausing  bool         // Rotate waits for the group under way to end
	newName  bool         // the file's name is not durable yet
	aside    bool         // a file set aside is there
	size     int64        // bytes in the file
	appended int          // records in the file
	closed   bool
}

// Torn is the end of a file of the log that Read ignored.
type Torn struct {
	Path  string
	Bytes int
}

// Open opens the log kept in the file path, creating it if needed.
// durable, when not nil, is called with each record once it is durable,
// in the order of the log and before the record's Append returns; it must
// not call the log.
func Open[T any](path string, durable func(T)) (*Log[T], error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal: %w", err)
	}
	l := &Log[T]{path: path, durable: durable, f: f, size: fi.Size()}
	if _, err := os.Lstat(path + AsideSuffix); err == nil {
		l.aside = true
	}
	l.idle = sync.NewCond(&l.mu)
	return l, nil
}

// Append makes v durable in the log, hands it on, and returns once it is.
func (l *Log[T]) Append(v T) error {
	rec, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	done := make(chan error, 1)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("journal: %w", os.ErrClosed)
	}
	l.buf = append(append(l.buf, rec...), '\n')
	l.records = append(l.records, v)
	l.waiters = append(l.waiters, done)
	if !l.running {
		l.running = true
		l.lead()
	}
	l.mu.Unlock()
	return <-done
}

// lead writes groups of records while writers wait and no rotation does.
// l.mu is held and l.running set; lead clears it.
func (l *Log[T]) lead() {
	for len(l.waiters) > 0 && !l.pausing {
		buf, records, waiters := l.buf, l.records, l.waiters
		l.buf, l.spare, l.records, l.waiters = l.spare[:0], buf, nil, nil
		l.mu.Unlock()
		err := l.write(buf, len(waiters))
		if err == nil && l.durable != nil {
			for _, v := range records {
				l.durable(v)
			}
		}
		for _, w := range waiters {
			w <- err
		}
		l.mu.Lock()
	}
	l.running = false
	l.idle.Broadcast()
}

// write appends the records in buf (n of them) and syncs the file, and
// the directory after a rotation. Only the writer that leads calls it. A
// failed write is cut off again, so that the records after it are not
// lost behind garbage.
func (l *Log[T]) write(buf []byte, n int) error {
	l.mu.Lock()
	f, newName := l.f, l.newName
	l.mu.Unlock()
	_, err := f.Write(buf)
	if err == nil {
		err = fdatasync(f)
	}
	if err == nil && newName {
		err = syncDir(filepath.Dir(l.path)) // the file's name must last with what it holds
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		f.Truncate(l.size)
		return fmt.Errorf("journal: %w", err)
	}
	if newName {
		l.newName = false
	}
	l.size += int64(len(buf))
	l.appended += n
	return nil
}

// Pending returns the number of records appended since the log was
// opened, rotated or reset.
func (l *Log[T]) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.appended
}

// Rotate renames the log's file to the one set aside and starts an empty
// one. It does so between two groups: paused runs once the group under
// way has been handed on and before the next one starts, so every record
// in the file set aside has been handed on when paused runs. Writers wait
// meanwhile (paused must not Append); they do not wait for the sync of
// the new file's name, which the next group makes. A file set aside
// before must have been removed.
func (l *Log[T]) Rotate(paused func()) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("journal: %w", os.ErrClosed)
	}
	if l.aside {
		return fmt.Errorf("journal: %s%s is still there", l.path, AsideSuffix)
	}
	l.pausing = true
	for l.running {
		l.idle.Wait()
	}
	l.pausing, l.running = false, true // writers queue up meanwhile
	l.mu.Unlock()
	paused()
	f, err := l.swap()
	l.mu.Lock()
	if err == nil {
		l.f.Close()
		l.f, l.newName, l.aside, l.size, l.appended = f, true, true, 0, 0
	}
	l.lead()
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// swap renames the log's file to the one set aside and creates it afresh.
func (l *Log[T]) swap() (*os.File, error) {
	if err := os.Rename(l.path, l.path+AsideSuffix); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		os.Rename(l.path+AsideSuffix, l.path)
		return nil, err
	}
	return f, nil
}

// Aside reports whether a file set aside by Rotate, or found by Open, is
// there.
func (l *Log[T]) Aside() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.aside
}

// RemoveAside removes the file set aside, once the records in it are
// durable elsewhere, and makes the removal durable.
func (l *Log[T]) RemoveAside() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := os.Remove(l.path + AsideSuffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("journal: %w", err)
	}
	if err := syncDir(filepath.Dir(l.path)); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	l.aside = false
	return nil
}

// Reset empties the log's file once what it holds is durable elsewhere.
func (l *Log[T]) Reset() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	l.size, l.appended = 0, 0
	return nil
}

// Close closes the log's file; Append and Rotate fail from then on.
func (l *Log[T]) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}

// Read returns the records in the log, those of the file set aside first,
// for a replay after a crash. In each file, a record that does not decode
// or that check rejects ends the file: it is the torn end of a write a
// crash interrupted, which never returned to its writer. Read reports
// such ends in torn.
func (l *Log[T]) Read(check func(T) error) (records []T, torn []Torn, err error) {
	for _, p := range []string{l.path + AsideSuffix, l.path} {
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, nil, fmt.Errorf("journal: %w", err)
		}
		recs, ignored := decode(b, check)
		if ignored > 0 {
			torn = append(torn, Torn{Path: p, Bytes: ignored})
		}
		records = append(records, recs...)
	}
	return records, torn, nil
}

// decode parses the records in b up to the first that does not decode or
// that check rejects, and reports how many bytes it ignored from there.
func decode[T any](b []byte, check func(T) error) (records []T, ignored int) {
	for len(b) > 0 {
		line, rest, ok := bytes.Cut(b, []byte{'\n'})
		var v T
		if !ok || json.Unmarshal(line, &v) != nil || (check != nil && check(v) != nil) {
			return records, len(b)
		}
		records = append(records, v)
		b = rest
	}
	return records, 0
}
