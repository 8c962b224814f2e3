package dirstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/pxelator/pxelator"
)

// Reload reads the whole directory again and brings the index in line
// with it. Changes are picked up by themselves while the store watches;
// Reload is for a store opened with NoWatch, or a SIGHUP.
func (s *Store) Reload(ctx context.Context) error {
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	if err := s.Flush(ctx); err != nil { // no change may come in meanwhile
		return err
	}
	servers, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("dirstore: %w", err)
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
			s.log.Warn("dirstore: skipping directory: not a server address", "path", serverDir)
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
func (s *Store) listServer(serverDir string) ([]string, error) {
	if s.watch != nil {
		s.watch.add(serverDir)
	}
	entries, err := os.ReadDir(serverDir)
	if err != nil {
		return nil, fmt.Errorf("dirstore: %w", err)
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
func (s *Store) recoverOld(serverDir, name string) string {
	p := filepath.Join(serverDir, name)
	orig := strings.TrimPrefix(name, ".")
	orig = orig[:strings.LastIndex(orig, ".old.")]
	target := filepath.Join(serverDir, orig)
	b, _, err := readValue(filepath.Join(p, pxelator.AttrMAC), false)
	if err != nil {
		os.RemoveAll(p)
		return ""
	}
	mac, err := pxelator.ParseMAC(firstLine(b))
	if err == nil && !s.macOnDisk(mac, target) {
		if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
			if os.Rename(p, target) == nil {
				s.log.Info("dirstore: restored machine after an interrupted write", "path", target)
				return target
			}
		}
	}
	os.RemoveAll(p)
	return ""
}

// macOnDisk reports whether a machine directory other than except holds
// mac. It is only used on recovery, so it may read the disk.
func (s *Store) macOnDisk(mac net.HardwareAddr, except string) bool {
	paths, _ := filepath.Glob(filepath.Join(s.dir, "*", "*", pxelator.AttrMAC))
	for _, p := range paths {
		dir := filepath.Dir(p)
		if dir == except || strings.HasPrefix(filepath.Base(dir), ".") {
			continue
		}
		if b, _, err := readValue(p, false); err == nil {
			if other, err := pxelator.ParseMAC(firstLine(b)); err == nil && string(other) == string(mac) {
				return true
			}
		}
	}
	return false
}

// loaded is the result of reading one machine directory.
type loaded struct {
	path string
	m    *pxelator.Machine
	err  error
}

// readDirs reads machine directories with a few workers.
func (s *Store) readDirs(ctx context.Context, dirs []string) []loaded {
	out := make([]loaded, len(dirs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if s.watch != nil {
					s.watch.add(dirs[i])
				}
				m, err := s.readMachine(dirs[i])
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
func (s *Store) replaceAll(all []loaded) {
	slices.SortFunc(all, func(a, b loaded) int { return strings.Compare(a.path, b.path) })
	s.w.Lock()
	defer s.w.Unlock()
	old := s.w.Reset(len(all))
	s.broken = make(map[netip.Addr]string)
	changed := len(old) != len(all)
	for _, l := range all {
		if l.m == nil && l.err == nil {
			continue
		}
		if l.err == nil {
			l.err = s.w.CheckNew(l.m)
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
		s.w.Insert(l.m, nil)
	}
	if changed {
		s.w.Changed()
	}
}

// skip reports the machine directory dir that could not be loaded and
// keeps its address from being handed to another machine while the
// directory is there. The index is locked.
func (s *Store) skip(dir string, err error) {
	s.log.Warn("dirstore: skipping machine", "path", dir, "err", err)
	if ip, perr := netip.ParseAddr(filepath.Base(dir)); perr == nil {
		s.broken[ip] = dir
	}
}

// readMachine reads one machine directory, as readMachineFiles does,
// and makes its secret files that others could read mode 0600.
func (s *Store) readMachine(dir string) (*pxelator.Machine, error) {
	m, loose, err := readMachineFiles(dir)
	for _, p := range loose {
		if cerr := os.Chmod(p, 0o600); cerr != nil {
			s.log.Warn("dirstore: secret file is readable by others and cannot be made mode 0600", "path", p, "err", cerr)
			continue
		}
		s.log.Warn("dirstore: secret file was readable by others; made it mode 0600", "path", p)
	}
	return m, err
}

// readMachineFiles reads one machine directory. It returns nil and no
// error for a directory that vanished, and the paths of the secret files
// (secret by their name) that others than the owner may read.
func readMachineFiles(dir string) (m *pxelator.Machine, loose []string, err error) {
	ipName := filepath.Base(dir)
	ip, err := netip.ParseAddr(ipName)
	if err != nil || !ip.Is4() {
		return nil, nil, fmt.Errorf("dirstore: directory name %q is not an IPv4 address", ipName)
	}
	server, err := netip.ParseAddr(filepath.Base(filepath.Dir(dir)))
	if err != nil {
		return nil, nil, fmt.Errorf("dirstore: server directory name is not an address")
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dirstore: %w", err)
	}
	m = &pxelator.Machine{IP: ip, Server: server}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
			continue
		}
		p := filepath.Join(dir, name)
		field := name == pxelator.AttrMAC || name == pxelator.AttrHostname || name == pxelator.AttrProfile
		if !field && !pxelator.ValidKey(name) {
			continue
		}
		b, perm, err := readValue(p, !field)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("dirstore: %w", err)
		}
		v := firstLine(b)
		switch {
		case name == pxelator.AttrMAC:
			if m.MAC, err = pxelator.ParseMAC(v); err != nil {
				return nil, nil, fmt.Errorf("%w in %s", err, p)
			}
		case field:
			m.Set(name, v)
		case perm&0o077 == 0:
			m.SetSecret(name, v)
		default:
			m.Set(name, v) // a secret by its name all the same
			if pxelator.SecretKey(name) {
				loose = append(loose, p)
			}
		}
	}
	if m.MAC == nil {
		return nil, loose, fmt.Errorf("dirstore: no mac file in %s", dir)
	}
	if err := m.Validate(); err != nil {
		return nil, loose, err
	}
	return m, loose, nil
}

// firstLine returns the first line of b without surrounding spaces.
func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}
