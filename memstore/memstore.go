// Package memstore is a [pxelator.Store] held in memory only, for tests
// and for programs that embed the toolkit and keep machines elsewhere.
package memstore

import (
	"context"
	"net"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/internal/index"
)

// lookups is embedded under this name so that the field stays unexported.
type lookups = index.Index

// Store is a [pxelator.Store] in memory. Its lookups, ByMAC (which does
// not allocate), ByIP, ByHostname, List and Watch, are those of the
// index it embeds. The zero value is not
// ready: use [New].
type Store struct {
	*lookups
	w *index.Writer
}

// New returns an empty Store.
func New() *Store {
	x, w := index.New()
	return &Store{lookups: x, w: w}
}

// Len returns the number of machines in the store.
func (s *Store) Len() int { return s.lookups.Len() }

// Put implements [pxelator.Store].
func (s *Store) Put(ctx context.Context, m pxelator.Machine) error {
	n, err := index.Normalize(m)
	if err != nil {
		return err
	}
	s.w.Lock()
	defer s.w.Unlock()
	old, err := s.w.Check(n)
	if err != nil {
		return err
	}
	s.w.Insert(n, old)
	s.w.Changed()
	return nil
}

// Delete implements [pxelator.Store].
func (s *Store) Delete(ctx context.Context, mac net.HardwareAddr) error {
	s.w.Lock()
	defer s.w.Unlock()
	m := s.w.MAC(mac)
	if m == nil {
		return pxelator.ErrNotFound
	}
	s.w.Remove(m)
	s.w.Changed()
	return nil
}
