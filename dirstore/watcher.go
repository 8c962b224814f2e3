package dirstore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/pxelator/pxelator"
)

// Debouncing of file events: an edit is acted on once the directory has
// been quiet for settle, and at the latest after maxDelay.
const (
	settle   = 30 * time.Millisecond
	maxDelay = 300 * time.Millisecond
)

// watcher follows changes made to a Store's directory by others (a
// person, git) and has the store reconcile the directories they touched.
type watcher struct {
	s    *Store
	fsw  *fsnotify.Watcher
	work chan map[string]bool // paths to reconcile, to the reconciling goroutine
	// done and reconciled are closed when run and reconcile return.
	done, reconciled chan struct{}
}

func newWatcher(s *Store) (*watcher, error) {
	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("dirstore: watching %s: %w", s.dir, err)
	}
	w := &watcher{s: s, fsw: fsw, work: make(chan map[string]bool), done: make(chan struct{}), reconciled: make(chan struct{})}
	go w.run()
	go w.reconcile()
	return w, nil
}

func (w *watcher) close() error {
	err := w.fsw.Close()
	<-w.done
	<-w.reconciled
	return err
}

// add watches one directory; failing (too many watches) is reported once
// per directory and leaves Reload as the way to see its changes.
func (w *watcher) add(dir string) {
	if err := w.fsw.Add(dir); err != nil {
		w.s.log.Warn("dirstore: cannot watch directory; edits in it need a reload", "path", dir, "err", err)
	}
}

// reconcile has the store reconcile the paths it is handed. It runs apart
// from run, which must always drain the file events: fsnotify's Add, which
// writers call, waits while an event is not taken.
func (w *watcher) reconcile() {
	defer close(w.reconciled)
	for paths := range w.work {
		if paths[w.s.dir] {
			if err := w.s.Reload(context.Background()); err != nil {
				w.s.log.Error("dirstore: reload failed", "err", err)
			}
			continue
		}
		for p := range paths {
			w.s.reconcile(p)
		}
	}
}

// run collects the paths of file events and hands them to reconcile once
// they settle.
func (w *watcher) run() {
	defer close(w.done)
	defer close(w.work)
	dirty := make(map[string]bool)
	var timer <-chan time.Time
	var first time.Time
	for {
		select {
		case ev, ok := <-w.fsw.Events:
			if !ok {
				return
			}
			p, ok := w.subject(ev.Name)
			if !ok {
				continue
			}
			if len(dirty) == 0 {
				first = time.Now()
			}
			dirty[p] = true
			wait := min(settle, maxDelay-time.Since(first))
			timer = time.After(max(wait, 0))
		case err, ok := <-w.fsw.Errors:
			if !ok {
				return
			}
			if errors.Is(err, syscall.EINVAL) {
				// fsnotify unwatching a directory the store moved aside,
				// whose watch went with its removal: nothing was lost.
				continue
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				w.s.log.Warn("dirstore: watching the store directory", "err", err)
				continue
			}
			// The kernel's queue overflowed: events were lost, read it all.
			w.s.log.Warn("dirstore: file events lost; reloading the store directory")
			dirty[w.s.dir] = true
			timer = time.After(settle)
		case <-timer:
			select {
			case w.work <- dirty:
				dirty = make(map[string]bool)
				timer = nil
			default: // still busy with the last batch
				timer = time.After(settle)
			}
		}
	}
}

// subject maps the path of a file event to the directory to reconcile:
// a server directory (one level below the root) or a machine directory
// (two levels). Other names, the store's own hidden temporary ones among
// them, are ignored.
func (w *watcher) subject(name string) (string, bool) {
	rel, err := filepath.Rel(w.s.dir, name)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return "", false
	}
	parts := strings.Split(rel, string(filepath.Separator))
	if len(parts) > 2 {
		parts = parts[:2]
	}
	for _, p := range parts {
		// Only addresses name server and machine directories: other files
		// beside them (the audit database and its journal, say) change
		// all the time and are none of the store's business.
		if _, err := netip.ParseAddr(p); err != nil {
			return "", false
		}
	}
	return filepath.Join(w.s.dir, filepath.Join(parts...)), true
}

// reconcile brings the index in line with one server or machine
// directory as it is on disk now.
func (s *Store) reconcile(p string) {
	rel, _ := filepath.Rel(s.dir, p)
	server := !strings.Contains(rel, string(filepath.Separator))
	if !server && (s.applier.pending(rel) || s.matches(p)) {
		// The store's own write, or an edit that changed nothing; or the
		// store is about to write the directory, which brings another
		// event.
		return
	}
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	if server {
		// The machines of the server still queued are not on disk yet.
		if err := s.Flush(context.Background()); err != nil {
			s.log.Warn("dirstore: not reconciling", "path", p, "err", err)
			return
		}
		s.reconcileServer(p)
		return
	}
	if !s.applier.pending(rel) {
		s.reconcileMachine(p)
	}
}

// matches reports whether the machine directory dir holds what the index
// says, read without stopping writers: the events of the store's own
// writes end here, so that a busy DHCP server's writes never wait for
// them. A directory caught in the middle of a write does not match and
// is reconciled under the lock.
func (s *Store) matches(dir string) bool {
	ip, err := netip.ParseAddr(filepath.Base(dir))
	if err != nil {
		return true // not a machine directory: nothing to do
	}
	m, err := s.readMachine(dir)
	s.w.RLock()
	defer s.w.RUnlock()
	cur, ok := s.machineAt(dir, ip)
	_, broken := s.broken[ip]
	switch {
	case err != nil:
		return false
	case m == nil:
		return !ok && !broken
	}
	return ok && !broken && cur.Equal(*m)
}

// reconcileServer handles a server directory that appeared or vanished.
func (s *Store) reconcileServer(serverDir string) {
	server, err := netip.ParseAddr(filepath.Base(serverDir))
	if err != nil {
		return
	}
	dirs, _ := s.listServer(serverDir) // nil when it vanished
	present := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		present[d] = true
		s.reconcileMachine(d)
	}
	// Machines of this server whose directory is gone.
	s.w.RLock()
	var gone []string
	for m := range s.w.Machines() {
		if d := s.machineDir(m.Server, m.IP); m.Server == server && !present[d] {
			gone = append(gone, d)
		}
	}
	s.w.RUnlock()
	for _, d := range gone {
		s.reconcileMachine(d)
	}
}

// machineAt returns the indexed machine whose directory is dir, of
// address ip; a machine of that address under another server does not
// count. The index is locked.
func (s *Store) machineAt(dir string, ip netip.Addr) (*pxelator.Machine, bool) {
	cur := s.w.IP(ip)
	if cur == nil || s.machineDir(cur.Server, cur.IP) != dir {
		return nil, false
	}
	return cur, true
}

// reconcileMachine reloads one machine directory. s.diskMu is held.
func (s *Store) reconcileMachine(dir string) {
	ip, err := netip.ParseAddr(filepath.Base(dir))
	if err != nil {
		return
	}
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() && s.watch != nil {
		s.watch.add(dir)
	}
	m, err := s.readMachine(dir)
	s.w.Lock()
	defer s.w.Unlock()
	cur, ok := s.machineAt(dir, ip)
	switch {
	case m == nil && err == nil: // vanished
		if ok {
			s.w.Remove(cur)
			s.w.Changed()
		}
		delete(s.broken, ip)
	case ok && err == nil && cur.Equal(*m):
		// Our own write, or an edit that changed nothing.
	default:
		if ok {
			s.w.Remove(cur)
		}
		delete(s.broken, ip)
		s.w.Changed()
		if err == nil {
			if err = s.w.CheckNew(m); err == nil {
				s.w.Insert(m, nil)
				break
			}
		}
		s.skip(dir, err)
	}
}
