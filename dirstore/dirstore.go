// Package dirstore is a [pxelator.Store] kept as plain files that a
// person can edit and git can track:
//
//	<dir>/<server-ip>/<machine-ip>/mac        52:54:00:00:0a:3d
//	<dir>/<server-ip>/<machine-ip>/hostname   kiosk-01
//	<dir>/<server-ip>/<machine-ip>/<key>      one value per file, one line
//
// Secret attributes are files of mode 0600. A key that
// pxelator.SecretKey names a secret (amt.password, *.secret, *.token) is
// one whatever its file's mode; such a file that others may read, as
// echo or a git checkout leaves it (0644), is reported by its path and
// made mode 0600 (the value is read all the same, so the machine keeps
// working; the report names the file, never the value). A file of mode
// 0600 is a secret too, whatever its name, but git does not keep modes:
// name secrets by those suffixes. On Windows, where files keep no such
// mode, every attribute read from disk counts as a secret, so that none
// is ever printed.
//
// The root's .gitignore, written when there is none and completed when
// it lacks them, keeps out of git the journal, the files of secret keys
// and an audit database in the root (*.db): git add of the tree never
// commits a password. A clone of the tree therefore has the machines
// without their secrets; write them again in the clone (echo pw >
// conf/<server-ip>/<machine-ip>/amt.password) and the store picks them
// up as it does any edit.
//
// Writes are atomic and durable: a change is first appended to a journal
// (<dir>/.journal, mode 0600, kept out of git by the .gitignore) and
// synced there, one sync shared by the writers that arrive together, and
// the write returns. Behind it, in the order they were made, the changes
// are written to the machine directories, each to a hidden directory
// beside its machine and renamed into place, so a reader never sees half a
// machine ([Store.Flush] waits for them). Every few seconds a checkpoint
// makes the directories durable with one syncfs(2), while writers go on
// with a new journal, and then removes the old one. A crash loses no
// change that returned: the next open replays the journal and tidies up
// what the crash left. (A hand edit made in the seconds before a crash, to
// a machine the store itself had just changed, may be undone by the
// replay.) Lookups are answered from an in-memory index; changes made on
// disk by hand or by git are picked up without a restart (see
// [Options.NoWatch]). A file that makes no sense (a bad MAC, two machines
// claiming one MAC or IP) is reported with its path and skipped.
package dirstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dirstore/internal/journal"
	"github.com/pxelator/pxelator/internal/index"
)

// Options tunes a [Store]. The zero value gives the defaults.
type Options struct {
	// Server is the segment a machine is written under when its Server
	// field is not set.
	Server netip.Addr
	// Logger receives reports of files that make no sense; nil means
	// slog.Default().
	Logger *slog.Logger
	// NoWatch turns off watching the directory for changes made by hand
	// or by git; Reload then picks them up.
	NoWatch bool
}

// lookups is embedded under this name so that the field stays unexported.
type lookups = index.Index

// Store is a [pxelator.Store] kept in a directory (see the package
// documentation). Its lookups, ByMAC (which does not allocate), ByIP,
// ByHostname, List and Watch, are those of the in-memory index it
// embeds.
type Store struct {
	*lookups
	w    *index.Writer
	dir  string
	opts Options
	log  *slog.Logger

	// diskMu orders writes (read-locked, so they run concurrently) and
	// reloads from disk (write-locked), so that a reload never sees a
	// write half done.
	diskMu sync.RWMutex
	// Guarded by the index's lock: keys of machines being written, and
	// paths of machine directories that exist but could not be loaded.
	inflight map[string]bool
	released *sync.Cond
	broken   map[netip.Addr]string

	journal *journal.Log[change]
	applier *applier
	rotated uint64 // changes queued when the journal was last set aside
	watch   *watcher
	kick    chan struct{} // asks for a checkpoint now
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed when the checkpoints stop
	closeMu sync.Mutex
}

// The journal is a file in the root directory whose name is not an
// address, so that the loader and the watcher pass it by. A checkpoint
// sets it aside under journalName+journal.AsideSuffix.
const journalName = ".journal"

// A checkpoint runs when the journal holds checkpointRecords changes, and
// checkpointEvery after a change at the latest: a crash loses no change,
// and an open replays at most this much.
const (
	checkpointRecords = 8192
	checkpointEvery   = 2 * time.Second
)

// Open opens the Store rooted at dir, creating dir if needed, replaying
// what a crash left in its journal, loading every machine under it and,
// unless opts.NoWatch is set, watching it for changes. Close stops the
// watching.
func Open(ctx context.Context, dir string, opts *Options) (*Store, error) {
	x, w := index.New()
	s := &Store{lookups: x, w: w, dir: filepath.Clean(dir), inflight: map[string]bool{}, broken: map[netip.Addr]string{}}
	if opts != nil {
		s.opts = *opts
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.released = sync.NewCond(s.w)
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("dirstore: %w", err)
	}
	if err := s.ignoreSecrets(); err != nil {
		s.log.Warn("dirstore: cannot keep secrets out of git", "err", err)
	}
	s.applier = newApplier(s)
	j, err := journal.Open(filepath.Join(s.dir, journalName), s.applier.enqueue)
	if err != nil {
		s.applier.close()
		return nil, fmt.Errorf("dirstore: %w", err)
	}
	s.journal = j
	fail := func(err error) (*Store, error) {
		j.Close()
		s.applier.close()
		return nil, err
	}
	if err := s.replay(); err != nil {
		return fail(err)
	}
	if !s.opts.NoWatch {
		w, err := newWatcher(s)
		if err != nil {
			return fail(err)
		}
		s.watch = w
	}
	s.kick, s.stop, s.stopped = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go s.checkpoints()
	if err := s.Reload(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// gitIgnored are the lines of the root's .gitignore that keep out of git
// what must not be committed: the journal (it holds secrets for a
// moment), the files of secret attributes (see [pxelator.SecretKey]) and
// an audit database kept in the tree.
func gitIgnored() []string {
	lines := []string{"/" + journalName, "/" + journalName + journal.AsideSuffix}
	for _, name := range []string{"password", "secret", "token"} {
		p := anyCase(name)
		lines = append(lines, p, "*."+p)
	}
	for _, ext := range []string{"db", "db-wal", "db-shm", "db-journal"} {
		lines = append(lines, "/*."+ext) // in the root only: a key may end in .db
	}
	return lines
}

// anyCase returns the gitignore pattern that matches s in any case:
// "[Pp][Aa]...".
func anyCase(s string) string {
	var b strings.Builder
	for _, c := range s {
		b.WriteString("[" + strings.ToUpper(string(c)) + string(c) + "]")
	}
	return b.String()
}

// ignoreSecrets makes sure the root's .gitignore has the gitIgnored
// lines: it writes one when there is none, and adds to one of the user's
// the lines it lacks.
func (s *Store) ignoreSecrets() error {
	p := filepath.Join(s.dir, ".gitignore")
	old, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	have := make(map[string]bool)
	for l := range strings.Lines(string(old)) {
		have[strings.TrimSpace(l)] = true
	}
	var add []string
	for _, l := range gitIgnored() {
		if !have[l] {
			add = append(add, l)
		}
	}
	if len(add) == 0 {
		return nil
	}
	b := append([]byte(nil), old...)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	if !have[gitIgnoreComment] {
		b = append(b, gitIgnoreComment+"\n"...)
	}
	b = append(b, strings.Join(add, "\n")+"\n"...)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	if len(old) > 0 {
		s.log.Info("dirstore: added to .gitignore what keeps secrets out of git", "path", p, "lines", add)
	}
	return nil
}

const gitIgnoreComment = "# pxelator: the journal, secrets (keys password, secret, token, *.password, ...) and databases stay out of git"

// checkpoints runs checkpoints until Close.
func (s *Store) checkpoints() {
	defer close(s.stopped)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.kick:
		}
		if err := s.checkpoint(); err != nil {
			s.log.Error("dirstore: checkpoint", "err", err)
		}
	}
}

// Dir returns the directory the store is rooted at.
func (s *Store) Dir() string { return s.dir }

// Close writes every change to the machine directories, makes them
// durable there and stops watching them. Lookups keep working; Put and
// Delete fail.
func (s *Store) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	<-s.stopped
	err := s.checkpoint()
	s.applier.close()
	err = errors.Join(err, s.journal.Close())
	if s.watch != nil {
		err = errors.Join(err, s.watch.close())
	}
	return err
}

// machineDir returns the directory of a machine.
func (s *Store) machineDir(server, ip netip.Addr) string {
	return filepath.Join(s.dir, server.String(), ip.String())
}

// Len returns the number of machines in the store.
func (s *Store) Len() int { return s.lookups.Len() }

// Put implements [pxelator.Store]. It returns once the change is durable,
// in the journal; the machine's directory is written moments later (see
// Flush).
func (s *Store) Put(ctx context.Context, m pxelator.Machine) error {
	n, err := index.Normalize(m)
	if err != nil {
		return err
	}
	if !n.Server.IsValid() {
		if !s.opts.Server.IsValid() {
			return fmt.Errorf("dirstore: machine %v: no server address", n.MAC)
		}
		n.Server = s.opts.Server.Unmap()
	}
	s.diskMu.RLock()
	defer s.diskMu.RUnlock()
	old, keys, err := s.reserve(n)
	if err != nil {
		return err
	}
	defer s.release(keys)
	if old != nil && old.Equal(*n) {
		return nil
	}
	if err := s.commit(n, old); err != nil {
		return err
	}
	s.w.Lock()
	s.w.Insert(n, s.w.MAC(n.MAC))
	s.w.Changed()
	s.w.Unlock()
	return nil
}

// reserve checks m against the index and against broken directories,
// waits for writes of the same MAC, IP or host name to finish, and marks
// m's keys as being written.
func (s *Store) reserve(m *pxelator.Machine) (old *pxelator.Machine, keys []string, err error) {
	keys = []string{"mac:" + string(m.MAC), "ip:" + m.IP.String()}
	if m.Hostname != "" {
		keys = append(keys, "name:"+index.LowerName(m.Hostname))
	}
	s.w.Lock()
	defer s.w.Unlock()
	for slices.ContainsFunc(keys, func(k string) bool { return s.inflight[k] }) {
		s.released.Wait()
	}
	old, err = s.w.Check(m)
	if err != nil {
		return nil, nil, err
	}
	if p, ok := s.broken[m.IP]; ok {
		return nil, nil, fmt.Errorf("%w: %v: %s exists but could not be loaded", pxelator.ErrConflict, m.IP, p)
	}
	if old != nil {
		// The old IP and name stay reserved until the move is done.
		keys = append(keys, "ip:"+old.IP.String())
		if old.Hostname != "" {
			keys = append(keys, "name:"+index.LowerName(old.Hostname))
		}
	}
	for _, k := range keys {
		s.inflight[k] = true
	}
	return old, keys, nil
}

func (s *Store) release(keys []string) {
	s.w.Lock()
	for _, k := range keys {
		delete(s.inflight, k)
	}
	s.w.Unlock()
	s.released.Broadcast()
}

// Delete implements [pxelator.Store].
func (s *Store) Delete(ctx context.Context, mac net.HardwareAddr) error {
	s.diskMu.RLock()
	defer s.diskMu.RUnlock()
	key := "mac:" + string(mac)
	s.w.Lock()
	for s.inflight[key] {
		s.released.Wait()
	}
	m := s.w.MAC(mac)
	if m != nil {
		s.inflight[key] = true
	}
	s.w.Unlock()
	if m == nil {
		return pxelator.ErrNotFound
	}
	defer s.release([]string{key})
	if err := s.commit(nil, m); err != nil {
		return err
	}
	s.w.Lock()
	if s.w.MAC(mac) == m {
		s.w.Remove(m)
		s.w.Changed()
	}
	s.w.Unlock()
	return nil
}

// Flush returns once every change made before it is in the machine
// directories, for a reader of the files (durable they are already).
func (s *Store) Flush(ctx context.Context) error {
	return s.applier.wait(ctx, s.applier.mark())
}
