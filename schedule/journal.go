package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// slotKey names one planned time of one machine.
type slotKey struct {
	mac     string // net.HardwareAddr.String()
	action  Action
	planned int64 // Unix seconds
}

// record is one line of the journal: the final outcome of a planned time.
type record struct {
	MAC     string    `json:"mac"`
	Action  Action    `json:"action"`
	Planned time.Time `json:"planned"`
	Outcome string    `json:"outcome"`
	At      time.Time `json:"at"`
}

func (r record) key() slotKey { return slotKey{r.MAC, r.Action, r.Planned.Unix()} }

// journal remembers which planned times are done, in memory and, when it
// has a file, in an append-only file of JSON lines that survives a
// restart. Each record is synced before add returns.
type journal struct {
	path string

	mu      sync.Mutex
	f       *os.File // nil: in memory only
	done    map[slotKey]record
	written int // lines in the file
	bad     int // lines skipped when the file was read
}

// openJournal reads the journal at path (creating it), keeps the records
// of planned times after keep, and rewrites the file with them. An empty
// path keeps the journal in memory only.
func openJournal(path string, keep time.Time) (*journal, error) {
	j := &journal{path: path, done: make(map[slotKey]record)}
	if path == "" {
		return j, nil
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("schedule: reading the state: %w", err)
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r record
		if err := json.Unmarshal(line, &r); err != nil || r.MAC == "" || (r.Action != On && r.Action != Off) {
			// A line cut short by a crash, or an edit by hand.
			j.bad++
			continue
		}
		j.done[r.key()] = r
	}
	if err := j.compact(keep); err != nil {
		return nil, err
	}
	return j, nil
}

// compact drops the records of planned times up to keep and rewrites the
// file with the others: a new file, synced, renamed over the old one.
func (j *journal) compact(keep time.Time) error {
	for k, r := range j.done {
		if !r.Planned.After(keep) {
			delete(j.done, k)
		}
	}
	if j.path == "" {
		return nil
	}
	var buf bytes.Buffer
	for _, r := range j.done {
		b, _ := json.Marshal(r)
		buf.Write(append(b, '\n'))
	}
	dir := filepath.Dir(j.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("schedule: state directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(j.path)+".*")
	if err != nil {
		return fmt.Errorf("schedule: writing the state: %w", err)
	}
	_, err = tmp.Write(buf.Bytes())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), j.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("schedule: writing the state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("schedule: opening the state: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.written = f, len(j.done)
	return nil
}

// outcome returns the record of k, if it is done.
func (j *journal) outcome(k slotKey) (record, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r, ok := j.done[k]
	return r, ok
}

// add records r as done and, with a file, appends and syncs it.
func (j *journal) add(r record) error {
	b, _ := json.Marshal(r)
	b = append(b, '\n')
	j.mu.Lock()
	j.done[r.key()] = r
	f := j.f
	var err error
	if f != nil {
		j.written++
		_, err = f.Write(b)
	}
	j.mu.Unlock()
	if f == nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("schedule: writing the state: %w", err)
	}
	// Sync makes this line, and any written before it, durable; the
	// scheduler compacts (replacing f) only between its passes.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("schedule: syncing the state: %w", err)
	}
	return nil
}

// maybeCompact rewrites the file when most of its lines are stale.
func (j *journal) maybeCompact(keep time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil || j.written < 1024 || j.written < 2*len(j.done) {
		return nil
	}
	return j.compact(keep)
}

func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
