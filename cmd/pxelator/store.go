package main

import (
	"context"
	"log/slog"

	"github.com/pxelator/pxelator"
)

// openStore opens the machine store under -conf; new machines go under
// the server's address.
func openStore(ctx context.Context, set *settings, log *slog.Logger) (*pxelator.DirStore, error) {
	return pxelator.OpenDir(ctx, set.conf, &pxelator.DirOptions{Server: set.serverIP, Logger: log})
}
