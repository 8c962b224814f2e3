package main

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/pxelator/pxelator/dirstore"
)

// openStore opens the machine store under dir; new machines go under
// the server's address.
func openStore(ctx context.Context, dir string, server netip.Addr, log *slog.Logger) (*dirstore.Store, error) {
	return dirstore.Open(ctx, dir, &dirstore.Options{Server: server, Logger: log})
}
