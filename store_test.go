package pxelator_test

import (
	"testing"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/pxelatortest"
)

func TestMemStoreConformance(t *testing.T) {
	pxelatortest.TestStore(t, func(t *testing.T) pxelator.Store { return pxelator.NewMemStore() })
}

func TestDirStoreConformance(t *testing.T) {
	pxelatortest.TestStore(t, func(t *testing.T) pxelator.Store { return openDir(t, t.TempDir()) })
}
