package pxelator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The DirStore's write-ahead log is a file in its root directory, whose
// name is not an address, so that the store's loader and watcher pass it
// by. A checkpoint renames it to journalOld and starts an empty one.
const (
	journalName = ".journal"
	journalOld  = ".journal.old"
)

// change is one change of a DirStore as its journal keeps it: the machine
// directory Dir (<server-ip>/<machine-ip> under the root) gets Files, or
// is removed when Files is empty. Old, when set, is the directory the
// machine leaves (it may be Dir itself).
type change struct {
	Dir   string      `json:"dir"`
	Old   string      `json:"old,omitempty"`
	Files []fileValue `json:"files,omitempty"`
}

// fileValue is one file of a machine directory.
type fileValue struct {
	Key    string `json:"k"`
	Value  string `json:"v"`
	Secret bool   `json:"s,omitempty"`
}

// journal is a DirStore's write-ahead log. A change is appended to it and
// made durable there before the machine directories change, so that the
// directories need no syncs of their own: the writers that arrive while a
// write and fdatasync(2) of the journal run share the next one (a group
// commit), and the writer that ran it hands the group's changes to the
// store's applier in journal order. A checkpoint sets the journal aside
// between two groups, makes the directories durable with one syncfs(2)
// while writers go on with a new journal, and removes the old one;
// opening the store replays what a crash left.
//
// The journal holds secret values, so it is a file of mode 0600.
type journal struct {
	dir     string        // the store's root
	durable func(*change) // takes each change once it is durable, in order

	mu      sync.Mutex
	idle    *sync.Cond   // signals running turning false
	f       *os.File     // replaced by rotate while running is set
	buf     []byte       // records waiting for the next write
	spare   []byte       // the other buffer, reused
	changes []*change    // the changes of those records
	waiters []chan error // writers waiting for the next write
	running bool         // someone is writing and syncing for the others, or rotating
	pausing bool         // rotate waits for the group under way to end
	newName bool         // the file's name is not durable yet
	size    int64        // bytes in the file
	records int          // records since the last checkpoint
	closed  bool
}

// openJournal opens the journal of the store rooted at dir, creating it
// if needed.
func openJournal(dir string) (*journal, error) {
	f, err := os.OpenFile(filepath.Join(dir, journalName), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pxelator: journal: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pxelator: journal: %w", err)
	}
	j := &journal{dir: dir, f: f, size: fi.Size()}
	j.idle = sync.NewCond(&j.mu)
	return j, nil
}

// append makes c durable in the journal, hands it on, and returns once
// it is.
func (j *journal) append(c *change) error {
	rec, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("pxelator: journal: %w", err)
	}
	done := make(chan error, 1)
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return fmt.Errorf("pxelator: journal: %w", os.ErrClosed)
	}
	j.buf = append(append(j.buf, rec...), '\n')
	j.changes = append(j.changes, c)
	j.waiters = append(j.waiters, done)
	if !j.running {
		j.running = true
		j.lead()
	}
	j.mu.Unlock()
	return <-done
}

// lead writes groups of records while writers wait and no rotation does.
// j.mu is held and j.running set; lead clears it.
func (j *journal) lead() {
	for len(j.waiters) > 0 && !j.pausing {
		buf, changes, waiters := j.buf, j.changes, j.waiters
		j.buf, j.spare, j.changes, j.waiters = j.spare[:0], buf, nil, nil
		j.mu.Unlock()
		err := j.write(buf, len(waiters))
		if err == nil && j.durable != nil {
			for _, c := range changes {
				j.durable(c)
			}
		}
		for _, w := range waiters {
			w <- err
		}
		j.mu.Lock()
	}
	j.running = false
	j.idle.Broadcast()
}

// write appends the records in buf (n of them) and syncs the file, and
// the directory after a rotation. Only the writer that leads calls it. A
// failed write is cut off again, so that the records after it are not
// lost behind garbage.
func (j *journal) write(buf []byte, n int) error {
	j.mu.Lock()
	f, newName := j.f, j.newName
	j.mu.Unlock()
	_, err := f.Write(buf)
	if err == nil {
		err = fdatasync(f)
	}
	if err == nil && newName {
		err = syncDir(j.dir) // the file's name must last with what it holds
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err != nil {
		f.Truncate(j.size)
		return fmt.Errorf("pxelator: journal: %w", err)
	}
	if newName {
		j.newName = false
	}
	j.size += int64(len(buf))
	j.records += n
	return nil
}

// pending returns the records written since the last checkpoint.
func (j *journal) pending() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.records
}

// rotate renames the journal to journalOld and starts an empty one,
// between two groups: every change in the old one has been handed on
// when it returns mark's result.
func (j *journal) rotate(mark func() uint64) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.pausing = true
	for j.running {
		j.idle.Wait()
	}
	j.pausing, j.running = false, true // writers queue up meanwhile
	n := mark()
	j.mu.Unlock()
	cur, old := filepath.Join(j.dir, journalName), filepath.Join(j.dir, journalOld)
	f, err := j.swap(cur, old)
	j.mu.Lock()
	if err == nil {
		j.f.Close()
		// The next group syncs the directory, outside this pause.
		j.f, j.newName, j.size, j.records = f, true, 0, 0
	}
	j.lead()
	if err != nil {
		return 0, fmt.Errorf("pxelator: journal: %w", err)
	}
	return n, nil
}

// swap renames the journal file cur to old and creates cur afresh.
func (j *journal) swap(cur, old string) (*os.File, error) {
	if err := os.Rename(cur, old); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(cur, os.O_RDWR|os.O_CREATE|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		os.Rename(old, cur)
		return nil, err
	}
	return f, nil
}

// reset empties the journal once what it holds is durable elsewhere. No
// append may run meanwhile: it is for replay.
func (j *journal) reset() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("pxelator: journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("pxelator: journal: %w", err)
	}
	j.size, j.records = 0, 0
	return nil
}

// close closes the file; appends fail from then on.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	return j.f.Close()
}

// readChanges parses the journal's contents. A record that does not parse
// ends it: it is the torn end of a write a crash interrupted, which never
// returned to its writer. It reports how many bytes were ignored.
func readChanges(b []byte) (changes []change, ignored int) {
	for len(b) > 0 {
		line, rest, ok := bytes.Cut(b, []byte{'\n'})
		var c change
		if !ok || json.Unmarshal(line, &c) != nil || c.validate() != nil {
			return changes, len(b)
		}
		changes = append(changes, c)
		b = rest
	}
	return changes, 0
}

// dirs returns the machine directories c changes.
func (c *change) dirs() []string {
	if c.Old == "" || c.Old == c.Dir {
		return []string{c.Dir}
	}
	return []string{c.Dir, c.Old}
}

// validate checks that a change read back names machine directories
// under the root and files a machine may have.
func (c *change) validate() error {
	for _, d := range c.dirs() {
		if _, err := machinePath("/", d); err != nil {
			return err
		}
	}
	for _, f := range c.Files {
		switch f.Key {
		case AttrMAC, AttrHostname, AttrProfile:
		default:
			if err := validKey(f.Key); err != nil {
				return fmt.Errorf("pxelator: journal: %w", err)
			}
		}
	}
	return nil
}

// changeOf returns the change that puts m on disk where old was: m at its
// directory, leaving old's. With m nil, it removes old.
func (s *DirStore) changeOf(m, old *Machine) *change {
	rel := func(m *Machine) string { return m.Server.String() + "/" + m.IP.String() }
	if m == nil {
		return &change{Dir: rel(old)}
	}
	c := &change{Dir: rel(m)}
	if old != nil {
		c.Old = rel(old)
	}
	put := func(key, value string, secret bool) {
		if value != "" {
			c.Files = append(c.Files, fileValue{Key: key, Value: value, Secret: secret})
		}
	}
	put(AttrMAC, m.MAC.String(), false)
	put(AttrHostname, m.Hostname, false)
	put(AttrProfile, m.Profile, false)
	for _, k := range m.Keys() {
		put(k, m.attrs[k].Value, m.attrs[k].Secret)
	}
	return c
}

// commit journals the change from old to m (either may be nil), which
// hands it to the applier for the machine directories. It returns once
// the change is durable in the journal.
func (s *DirStore) commit(m, old *Machine) error {
	if err := s.applier.failing(); err != nil {
		return err
	}
	if err := s.journal.append(s.changeOf(m, old)); err != nil {
		return err
	}
	if s.journal.pending() >= checkpointRecords {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// replay makes on disk the changes a crash left in the journals (the
// one a checkpoint set aside first), makes them durable, and empties the
// journal. It runs before the store loads.
func (s *DirStore) replay() error {
	var (
		changes []change
		found   bool // a journal with something in it
	)
	for _, name := range []string{journalOld, journalName} {
		p := filepath.Join(s.dir, name)
		b, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return fmt.Errorf("pxelator: journal: %w", err)
		}
		found = found || len(b) > 0 || name == journalOld
		c, ignored := readChanges(b)
		if ignored > 0 {
			s.log.Warn("pxelator: ignoring the torn end of the journal", "path", p, "bytes", ignored)
		}
		changes = append(changes, c...)
	}
	for i := range changes {
		if err := s.apply(&changes[i]); err != nil {
			return fmt.Errorf("pxelator: replaying the journal: %w", err)
		}
	}
	if !found { // a clean stop: nothing to sync
		return nil
	}
	if len(changes) > 0 {
		s.log.Info("pxelator: replayed the journal after an unclean stop", "changes", len(changes))
	}
	if err := s.finishCheckpoint(); err != nil {
		return err
	}
	return s.journal.reset()
}

// checkpoint makes the changes in the journal durable in the machine
// directories and starts a new journal. Writers wait only while the
// journal is set aside, not while the changes in it are applied and the
// file system syncs.
func (s *DirStore) checkpoint() error {
	if _, err := os.Lstat(filepath.Join(s.dir, journalOld)); err == nil {
		if err := s.finishCheckpoint(); err != nil { // one that failed before
			return err
		}
	}
	if s.journal.pending() == 0 {
		return nil
	}
	n, err := s.journal.rotate(s.applier.mark)
	if err != nil {
		return err
	}
	s.rotated = n
	return s.finishCheckpoint()
}

// finishCheckpoint waits until the changes in the journal set aside are
// in the machine directories, makes those durable and then removes the
// journal set aside.
func (s *DirStore) finishCheckpoint() error {
	if s.applier != nil {
		if err := s.applier.wait(context.Background(), s.rotated); err != nil {
			return err
		}
	}
	if err := syncfs(s.dir); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.dir, journalOld)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pxelator: journal: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("pxelator: journal: %w", err)
	}
	return nil
}

// machinePath returns the path under root of the machine directory rel,
// "<server-ip>/<machine-ip>" as a change names it. Both must be IPv4
// addresses, which have no zone (an IPv6 zone may hold "../"), and the
// path must stay under root.
func machinePath(root, rel string) (string, error) {
	server, ip, ok := strings.Cut(rel, "/")
	s, err1 := netip.ParseAddr(server)
	a, err2 := netip.ParseAddr(ip)
	if !ok || err1 != nil || err2 != nil || !s.Is4() || !a.Is4() {
		return "", fmt.Errorf("pxelator: journal: bad directory %q", rel)
	}
	p := filepath.Join(root, server, ip)
	if r, err := filepath.Rel(root, p); err != nil || !filepath.IsLocal(r) {
		return "", fmt.Errorf("pxelator: journal: directory %q is not under %s", rel, root)
	}
	return p, nil
}

// syncDir makes the entries of directory dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
