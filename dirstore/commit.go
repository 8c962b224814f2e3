package dirstore

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/pxelator/pxelator"
)

// change is one change of a Store as its journal keeps it: the machine
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

// dirs returns the machine directories c changes.
func (c *change) dirs() []string {
	if c.Old == "" || c.Old == c.Dir {
		return []string{c.Dir}
	}
	return []string{c.Dir, c.Old}
}

// validate checks that a change read back names machine directories
// under the root and files a machine may have.
func (c change) validate() error {
	for _, d := range c.dirs() {
		if _, err := machinePath("", d); err != nil {
			return err
		}
	}
	for _, f := range c.Files {
		switch f.Key {
		case pxelator.AttrMAC, pxelator.AttrHostname, pxelator.AttrProfile:
		default:
			if !pxelator.ValidKey(f.Key) {
				return fmt.Errorf("dirstore: journal: bad attribute key %q", f.Key)
			}
		}
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
		return "", fmt.Errorf("dirstore: journal: bad directory %q", rel)
	}
	local := filepath.Join(server, ip)
	if !filepath.IsLocal(local) {
		return "", fmt.Errorf("dirstore: journal: directory %q is not under the root", rel)
	}
	return filepath.Join(root, local), nil
}

// changeOf returns the change that puts m on disk where old was: m at its
// directory, leaving old's. With m nil, it removes old.
func changeOf(m, old *pxelator.Machine) change {
	rel := func(m *pxelator.Machine) string { return m.Server.String() + "/" + m.IP.String() }
	if m == nil {
		return change{Dir: rel(old)}
	}
	c := change{Dir: rel(m)}
	if old != nil {
		c.Old = rel(old)
	}
	put := func(key string, a pxelator.Attr) {
		if a.Value != "" {
			c.Files = append(c.Files, fileValue{Key: key, Value: a.Value, Secret: a.Secret})
		}
	}
	put(pxelator.AttrMAC, pxelator.Attr{Value: m.MAC.String()})
	put(pxelator.AttrHostname, pxelator.Attr{Value: m.Hostname})
	put(pxelator.AttrProfile, pxelator.Attr{Value: m.Profile})
	for k, a := range m.Attrs() {
		put(k, a)
	}
	return c
}

// commit journals the change from old to m (either may be nil), which
// hands it to the applier for the machine directories. It returns once
// the change is durable in the journal.
func (s *Store) commit(m, old *pxelator.Machine) error {
	if err := s.applier.failing(); err != nil {
		return err
	}
	if err := s.journal.Append(changeOf(m, old)); err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	if s.journal.Pending() >= checkpointRecords {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// replay makes on disk the changes a crash left in the journal (those a
// checkpoint set aside first), makes them durable, and empties the
// journal. It runs before the store loads.
func (s *Store) replay() error {
	changes, torn, err := s.journal.Read(change.validate)
	if err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	for _, t := range torn {
		s.log.Warn("dirstore: ignoring the torn end of the journal", "path", t.Path, "bytes", t.Bytes)
	}
	for i := range changes {
		if err := s.apply(&changes[i]); err != nil {
			return fmt.Errorf("dirstore: replaying the journal: %w", err)
		}
	}
	if len(changes) == 0 && len(torn) == 0 && !s.journal.Aside() {
		return nil // a clean stop: nothing to sync
	}
	if len(changes) > 0 {
		s.log.Info("dirstore: replayed the journal after an unclean stop", "changes", len(changes))
	}
	if err := s.finishCheckpoint(); err != nil {
		return err
	}
	if err := s.journal.Reset(); err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	return nil
}

// checkpoint makes the changes in the journal durable in the machine
// directories and starts a new journal. Writers wait only while the
// journal is set aside, not while the changes in it are applied and the
// file system syncs.
func (s *Store) checkpoint() error {
	if s.journal.Aside() {
		if err := s.finishCheckpoint(); err != nil { // one that failed before
			return err
		}
	}
	if s.journal.Pending() == 0 {
		return nil
	}
	if err := s.journal.Rotate(func() { s.rotated = s.applier.mark() }); err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	return s.finishCheckpoint()
}

// finishCheckpoint waits until the changes in the journal set aside are
// in the machine directories, makes those durable and then removes the
// journal set aside.
func (s *Store) finishCheckpoint() error {
	if err := s.applier.wait(context.Background(), s.rotated); err != nil {
		return err
	}
	if err := syncfs(s.dir); err != nil {
		return err
	}
	if err := s.journal.RemoveAside(); err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	return nil
}
