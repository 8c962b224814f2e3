package main

import (
	"context"
	"log/slog"

	"github.com/pxelator/pxelator/dirstore"
)

// openStore opens the machine store under -conf; new machines go under
// the server's address.
func openStore(ctx context.Context, set *settings, log *slog.Logger) (*dirstore.Store, error) {
	return dirstore.Open(ctx, set.conf, &dirstore.Options{Server: set.serverIP, Logger: log})
}
