package main

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/pxelator/pxelator"
)

// openStore opens the machine store under dir; new machines go under
// the server's address.
func openStore(ctx context.Context, dir string, server netip.Addr, log *slog.Logger) (*pxelator.DirStore, error) {
	return pxelator.OpenDir(ctx, dir, &pxelator.DirOptions{Server: server, Logger: log})
}
