package main

import "context"

// background returns a service that runs fn until the group stops: the
// shape of the server's own loops (the power poll, the scheduler, the
// monitor). listen, when not nil, opens what fn needs; unserved, when not
// nil, releases it if the group stops before fn ran.
func background(name string, listen func() (string, error), fn func(ctx context.Context) error, unserved func()) *service {
	ctx, cancel := context.WithCancel(context.Background())
	running, done := make(chan struct{}), make(chan struct{})
	return &service{
		name:   name,
		listen: listen,
		serve: func() error {
			close(running)
			defer close(done)
			return fn(ctx)
		},
		stop: func(stopCtx context.Context) error {
			cancel()
			select {
			case <-running:
			default: // the group did not start
				if unserved != nil {
					unserved()
				}
				return nil
			}
			select {
			case <-done:
				return nil
			case <-stopCtx.Done():
				return stopCtx.Err()
			}
		},
	}
}
