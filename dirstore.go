package pxelator

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"golang.org/x/sys/unix"
)

// DirOptions tunes a [DirStore]. The zero value gives the defaults.
type DirOptions struct {
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

// DirStore is a [Store] kept as plain files that a person can edit and
// git can track:
//
//	<dir>/<server-ip>/<machine-ip>/mac        52:54:00:00:0a:3d
//	<dir>/<server-ip>/<machine-ip>/hostname   kiosk-01
//	<dir>/<server-ip>/<machine-ip>/<key>      one value per file, one line
//
// Secret attributes are files of mode 0600 (and a file of mode 0600 is a
// secret). Writes are atomic and durable: a change is first appended to a
// journal (<dir>/.journal, mode 0600, kept out of git by a <dir>/.gitignore
// made when there is none) and synced there, one sync shared by the
// writers that arrive together, and the write returns. Behind it, in the
// order they were made, the changes are written to the machine
// directories, each to a hidden directory beside its machine and renamed
// into place, so a reader never sees half a machine ([DirStore.Flush]
// waits for them). Every few seconds a checkpoint makes the
// directories durable with one syncfs(2), while writers go on with a new
// journal, and then removes the old one. A crash loses no change that
// returned: the next open replays the journal and tidies up what the
// crash left. (A hand edit made in the seconds before a crash, to a
// machine the store itself had just changed, may be undone by the
// replay.) Lookups are answered from an in-memory index; changes made on
// disk by hand or by git are picked up without a restart (see
// [DirOptions.NoWatch]). A file that makes no sense (a bad MAC, two
// machines claiming one MAC or IP) is reported with its path and skipped.
type DirStore struct {
	*index
	dir  string
	opts DirOptions
	log  *slog.Logger

	// diskMu orders writes (read-locked, so they run concurrently) and
	// reloads from disk (write-locked), so that a reload never sees a
	// write half done.
	diskMu sync.RWMutex
	// Guarded by index.mu: keys of machines being written, and paths of
	// machine directories that exist but could not be loaded.
	inflight map[string]bool
	released *sync.Cond
	broken   map[netip.Addr]string

	journal *journal
	applier *applier
	rotated uint64 // changes queued when the journal was last set aside
	watch   *watcher
	kick    chan struct{} // asks for a checkpoint now
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed when the checkpoints stop
	closeMu sync.Mutex
}

// A checkpoint runs when the journal holds checkpointRecords changes, and
// checkpointEvery after a change at the latest: a crash loses no change,
// and an open replays at most this much.
const (
	checkpointRecords = 8192
	checkpointEvery   = 2 * time.Second
)

// OpenDir opens the DirStore rooted at dir, creating dir if needed,
// loading every machine under it and, unless opts.NoWatch is set,
// watching it for changes. Close stops the watching.
func OpenDir(ctx context.Context, dir string, opts *DirOptions) (*DirStore, error) {
	s := &DirStore{index: newIndex(), dir: filepath.Clean(dir), inflight: map[string]bool{}, broken: map[netip.Addr]string{}}
	if opts != nil {
		s.opts = *opts
	}
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.released = sync.NewCond(&s.mu)
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, fmt.Errorf("pxelator: %w", err)
	}
	// The journal holds secrets for a moment: keep it out of git.
	ignore := filepath.Join(s.dir, ".gitignore")
	if _, err := os.Lstat(ignore); errors.Is(err, fs.ErrNotExist) {
		os.WriteFile(ignore, []byte("/"+journalName+"\n/"+journalOld+"\n"), 0o644)
	}
	j, err := openJournal(s.dir)
	if err != nil {
		return nil, err
	}
	s.journal = j
	if err := s.replay(); err != nil {
		j.close()
		return nil, err
	}
	if !s.opts.NoWatch {
		w, err := newWatcher(s)
		if err != nil {
			j.close()
			return nil, err
		}
		s.watch = w
	}
	s.applier = newApplier(s)
	j.durable = s.applier.enqueue
	s.kick, s.stop, s.stopped = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go s.checkpoints()
	if err := s.Reload(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// checkpoints runs checkpoints until Close.
func (s *DirStore) checkpoints() {
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
			s.log.Error("pxelator: checkpoint", "err", err)
		}
	}
}

// Dir returns the directory the store is rooted at.
func (s *DirStore) Dir() string { return s.dir }

// Close writes every change to the machine directories, makes them
// durable there and stops watching them. Lookups keep working; Put and
// Delete fail.
func (s *DirStore) Close() error {
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
	err = errors.Join(err, s.journal.close())
	if s.watch != nil {
		err = errors.Join(err, s.watch.close())
	}
	return err
}

// machineDir returns the directory of a machine.
func (s *DirStore) machineDir(server, ip netip.Addr) string {
	return filepath.Join(s.dir, server.String(), ip.String())
}

// Put implements Store. It returns once the change is durable, in the
// journal; the machine's directory is written moments later (see Flush).
func (s *DirStore) Put(ctx context.Context, m Machine) error {
	n, err := normalize(m)
	if err != nil {
		return err
	}
	if !n.Server.IsValid() {
		if !s.opts.Server.IsValid() {
			return fmt.Errorf("pxelator: machine %v: no server address", n.MAC)
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
	s.mu.Lock()
	s.insert(n, s.byMAC[string(n.MAC)])
	s.gen++
	s.mu.Unlock()
	s.notify()
	return nil
}

// reserve checks m against the index and against broken directories,
// waits for writes of the same MAC, IP or host name to finish, and marks
// m's keys as being written.
func (s *DirStore) reserve(m *Machine) (old *Machine, keys []string, err error) {
	keys = []string{"mac:" + string(m.MAC), "ip:" + m.IP.String()}
	if m.Hostname != "" {
		keys = append(keys, "name:"+lowerName(m.Hostname))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for slices.ContainsFunc(keys, func(k string) bool { return s.inflight[k] }) {
		s.released.Wait()
	}
	old, err = s.check(m)
	if err != nil {
		return nil, nil, err
	}
	if p, ok := s.broken[m.IP]; ok {
		return nil, nil, fmt.Errorf("%w: %v: %s exists but could not be loaded", ErrConflict, m.IP, p)
	}
	if old != nil {
		// The old IP and name stay reserved until the move is done.
		keys = append(keys, "ip:"+old.IP.String())
		if old.Hostname != "" {
			keys = append(keys, "name:"+lowerName(old.Hostname))
		}
	}
	for _, k := range keys {
		s.inflight[k] = true
	}
	return old, keys, nil
}

func (s *DirStore) release(keys []string) {
	s.mu.Lock()
	for _, k := range keys {
		delete(s.inflight, k)
	}
	s.mu.Unlock()
	s.released.Broadcast()
}

// writeFile creates the file p with exactly the mode perm, whatever the
// umask, since the mode tells a secret.
func writeFile(p, content string, perm os.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	return errors.Join(err, f.Chmod(perm), f.Close())
}

// hiddenName returns a fresh name for a hidden directory beside name in
// dir: .<name>.<kind>.<random>.
func hiddenName(dir, name, kind string) string {
	var b [6]byte
	rand.Read(b[:])
	return filepath.Join(dir, "."+name+"."+kind+"."+hex.EncodeToString(b[:]))
}

// Delete implements Store.
func (s *DirStore) Delete(ctx context.Context, mac net.HardwareAddr) error {
	s.diskMu.RLock()
	defer s.diskMu.RUnlock()
	key := "mac:" + string(mac)
	s.mu.Lock()
	for s.inflight[key] {
		s.released.Wait()
	}
	m, ok := s.byMAC[string(mac)]
	if ok {
		s.inflight[key] = true
	}
	s.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	defer s.release([]string{key})
	if err := s.commit(nil, m); err != nil {
		return err
	}
	s.mu.Lock()
	if s.byMAC[string(mac)] == m {
		s.remove(m)
		s.gen++
	}
	s.mu.Unlock()
	s.notify()
	return nil
}

// Flush returns once every change made before it is in the machine
// directories, for a reader of the files (durable they are already).
func (s *DirStore) Flush(ctx context.Context) error {
	return s.applier.wait(ctx, s.applier.mark())
}

// Reload reads the whole directory again and brings the index in line
// with it. Changes are picked up by themselves while the store watches;
// Reload is for a store opened with NoWatch, or a SIGHUP.
func (s *DirStore) Reload(ctx context.Context) error {
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	if err := s.Flush(ctx); err != nil { // no change may come in meanwhile
		return err
	}
	servers, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("pxelator: %w", err)
	}
	if s.watch != nil {
		s.watch.add(s.dir)
	}
	var dirs []string
	for _, sd := range servers {
		if !sd.IsDir() || strings.HasPrefix(sd.Name(), ".") {
			continue
		}
		serverDir := filepath.Join(s.dir, sd.Name())
		if _, err := netip.ParseAddr(sd.Name()); err != nil {
			s.log.Warn("pxelator: skipping directory: not a server address", "path", serverDir)
			continue
		}
		found, err := s.listServer(serverDir)
		if err != nil {
			return err
		}
		dirs = append(dirs, found...)
	}
	loaded := s.readDirs(ctx, dirs)
	s.replaceAll(loaded)
	return ctx.Err()
}

// listServer lists the machine directories of one server directory,
// tidying up what an interrupted write left there.
func (s *DirStore) listServer(serverDir string) ([]string, error) {
	if s.watch != nil {
		s.watch.add(serverDir)
	}
	entries, err := os.ReadDir(serverDir)
	if err != nil {
		return nil, fmt.Errorf("pxelator: %w", err)
	}
	var dirs, olds []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case !e.IsDir():
		case strings.HasPrefix(name, "."):
			switch parts := strings.Split(name, "."); {
			case len(parts) >= 4 && parts[len(parts)-2] == "old":
				olds = append(olds, name)
			case len(parts) >= 4 && (parts[len(parts)-2] == "tmp" || parts[len(parts)-2] == "del"):
				os.RemoveAll(filepath.Join(serverDir, name))
			}
		default:
			dirs = append(dirs, filepath.Join(serverDir, name))
		}
	}
	for _, name := range olds {
		if p := s.recoverOld(serverDir, name); p != "" {
			dirs = append(dirs, p)
		}
	}
	return dirs, nil
}

// recoverOld deals with a machine directory set aside by a write that did
// not finish: when the new version did not make it, the old one goes back
// in place (and its path is returned); otherwise it is removed.
func (s *DirStore) recoverOld(serverDir, name string) string {
	p := filepath.Join(serverDir, name)
	orig := strings.TrimPrefix(name, ".")
	orig = orig[:strings.LastIndex(orig, ".old.")]
	target := filepath.Join(serverDir, orig)
	b, _, err := readValue(filepath.Join(p, AttrMAC), false)
	if err != nil {
		os.RemoveAll(p)
		return ""
	}
	mac, err := ParseMAC(firstLine(b))
	if err == nil && !s.macOnDisk(mac, target) {
		if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
			if os.Rename(p, target) == nil {
				s.log.Info("pxelator: restored machine after an interrupted write", "path", target)
				return target
			}
		}
	}
	os.RemoveAll(p)
	return ""
}

// macOnDisk reports whether a machine directory other than except holds
// mac. It is only used on recovery, so it may read the disk.
func (s *DirStore) macOnDisk(mac net.HardwareAddr, except string) bool {
	paths, _ := filepath.Glob(filepath.Join(s.dir, "*", "*", AttrMAC))
	for _, p := range paths {
		dir := filepath.Dir(p)
		if dir == except || strings.HasPrefix(filepath.Base(dir), ".") {
			continue
		}
		if b, _, err := readValue(p, false); err == nil {
			if other, err := ParseMAC(firstLine(b)); err == nil && string(other) == string(mac) {
				return true
			}
		}
	}
	return false
}

// loaded is the result of reading one machine directory.
type loaded struct {
	path string
	m    *Machine
	err  error
}

// readDirs reads machine directories with a few workers.
func (s *DirStore) readDirs(ctx context.Context, dirs []string) []loaded {
	out := make([]loaded, len(dirs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if s.watch != nil {
					s.watch.add(dirs[i])
				}
				m, err := readMachine(dirs[i])
				out[i] = loaded{path: dirs[i], m: m, err: err}
			}
		})
	}
	for i := range dirs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// replaceAll makes the index hold exactly the machines loaded, keeping
// the first of two that claim one MAC, IP or host name.
func (s *DirStore) replaceAll(all []loaded) {
	slices.SortFunc(all, func(a, b loaded) int { return strings.Compare(a.path, b.path) })
	s.mu.Lock()
	old := s.byMAC
	s.byMAC = make(map[string]*Machine, len(all))
	s.byIP = make(map[netip.Addr]*Machine, len(all))
	s.byName = make(map[string]*Machine, len(all))
	s.broken = make(map[netip.Addr]string)
	changed := len(old) != len(all)
	for _, l := range all {
		if l.m == nil && l.err == nil {
			continue
		}
		if l.err == nil {
			l.err = s.checkNew(l.m)
		}
		if l.err != nil {
			s.skip(l.path, l.err)
			changed = true
			continue
		}
		if o, ok := old[string(l.m.MAC)]; ok && o.Equal(*l.m) {
			l.m = o // keep the pointer so that lookups in flight see no change
		} else {
			changed = true
		}
		s.insert(l.m, nil)
	}
	if changed {
		s.gen++
	}
	s.mu.Unlock()
	if changed {
		s.notify()
	}
}

// skip reports the machine directory dir that could not be loaded and
// keeps its address from being handed to another machine while the
// directory is there. s.mu is held for writing.
func (s *DirStore) skip(dir string, err error) {
	s.log.Warn("pxelator: skipping machine", "path", dir, "err", err)
	if ip, perr := netip.ParseAddr(filepath.Base(dir)); perr == nil {
		s.broken[ip] = dir
	}
}

// readMachine reads one machine directory. It returns nil and no error
// for a directory that vanished.
func readMachine(dir string) (*Machine, error) {
	ipName := filepath.Base(dir)
	ip, err := netip.ParseAddr(ipName)
	if err != nil || !ip.Is4() {
		return nil, fmt.Errorf("pxelator: directory name %q is not an IPv4 address", ipName)
	}
	server, err := netip.ParseAddr(filepath.Base(filepath.Dir(dir)))
	if err != nil {
		return nil, fmt.Errorf("pxelator: server directory name is not an address")
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pxelator: %w", err)
	}
	m := &Machine{IP: ip, Server: server}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
			continue
		}
		p := filepath.Join(dir, name)
		field := name == AttrMAC || name == AttrHostname || name == AttrProfile
		if !field && validKey(name) != nil {
			continue
		}
		b, perm, err := readValue(p, !field)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("pxelator: %w", err)
		}
		v := firstLine(b)
		switch name {
		case AttrMAC:
			if m.MAC, err = ParseMAC(v); err != nil {
				return nil, fmt.Errorf("%w in %s", err, p)
			}
		case AttrHostname:
			m.Hostname = v
		case AttrProfile:
			m.Profile = v
		default:
			m.set(name, Attr{Value: v, Secret: perm&0o077 == 0})
		}
	}
	if m.MAC == nil {
		return nil, fmt.Errorf("pxelator: no mac file in %s", dir)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

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

// firstLine returns the first line of b without surrounding spaces.
func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
