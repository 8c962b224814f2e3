package main

import (
	"context"
	"log/slog"

	"github.com/pxelator/pxelator"
)

// closingStore is a Store the server closes on exit.
type closingStore interface {
	pxelator.Store
	Close() error
}

type memCloser struct{ *pxelator.MemStore }

func (memCloser) Close() error { return nil }

// openStore opens the machine store under dir.
func openStore(ctx context.Context, dir string, log *slog.Logger) (closingStore, error) {
	return memCloser{pxelator.NewMemStore()}, nil
}
