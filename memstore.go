package pxelator

import (
	"context"
	"net"
)

// MemStore is a [Store] held in memory only, for tests and for programs
// that embed the toolkit and keep machines elsewhere. The zero value is not
// ready: use [NewMemStore].
type MemStore struct {
	*index
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{index: newIndex()} }

// Put implements Store.
func (s *MemStore) Put(ctx context.Context, m Machine) error {
	n, err := normalize(m)
	if err != nil {
		return err
	}
	s.mu.Lock()
	old, err := s.check(n)
	if err == nil {
		s.insert(n, old)
		s.gen++
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.notify()
	return nil
}

// Delete implements Store.
func (s *MemStore) Delete(ctx context.Context, mac net.HardwareAddr) error {
	s.mu.Lock()
	m, ok := s.byMAC[string(mac)]
	if ok {
		s.remove(m)
		s.gen++
	}
	s.mu.Unlock()
	if !ok {
		return ErrNotFound
	}
	s.notify()
	return nil
}
