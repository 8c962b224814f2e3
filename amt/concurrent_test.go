package amt_test

import (
	"sync"
	"testing"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
)

// TestConcurrent shares one client between goroutines while the device
// rotates its nonces: stale nonces must be renewed, never reported as a
// failed login.
func TestConcurrent(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{NonceUses: 3})
	defer srv.Close()
	c := newClient(t, srv, amt.Config{})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8*10)
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if st, err := c.PowerState(ctx); err != nil {
					errs <- err
				} else if st != pxelator.PowerOn {
					t.Errorf("state %v", st)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
