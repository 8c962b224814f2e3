package memstore_test

import (
	"testing"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/pxelatortest"
)

var _ pxelator.Store = (*memstore.Store)(nil)

func TestConformance(t *testing.T) {
	pxelatortest.TestStore(t, func(t *testing.T) pxelator.Store { return memstore.New() })
}

func TestLen(t *testing.T) {
	s := memstore.New()
	pxelatortest.Fill(t, s, 100)
	if n := s.Len(); n != 100 {
		t.Errorf("Len() = %d, want 100", n)
	}
}
