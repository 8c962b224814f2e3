package pxelatortest_test

import (
	"context"
	"fmt"

	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/pxelatortest"
)

// NewMachine gives a test numbered, valid machines; TestStore (called
// from a Test function with a constructor of the store under test) runs
// the conformance suite that every Store passes.
func ExampleNewMachine() {
	store := memstore.New()
	for i := range 3 {
		store.Put(context.Background(), pxelatortest.NewMachine(i))
	}
	m, _ := store.ByHostname(context.Background(), "host-2")
	fmt.Println(m)
	// Output: 52:54:00:00:00:02 10.77.0.2 hostname=host-2
}
