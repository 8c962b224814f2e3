// Command ferretdb runs FerretDB, a MongoDB-protocol server, on an SQLite
// directory, for the tests and benchmarks of the audit MongoDB backend.
// It lives in its own module so that the main module does not require
// FerretDB.
//
//	ferretdb -dir DIR [-listen 127.0.0.1:0]
//
// Once it listens it prints its MongoDB URI as the first line of standard
// output; it stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP `address` to listen on (port 0: any free port)")
	dir := flag.String("dir", "", "`directory` of the SQLite databases (created if missing)")
	verbose := flag.Bool("v", false, "log every request")
	flag.Parse()
	if err := run(*listen, *dir, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run(listen, dir string, verbose bool) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return err
	}
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
	})
	if err != nil {
		return err
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	// MongoDBURI waits until the listener is bound, so the port is known.
	fmt.Println(f.MongoDBURI())
	return <-done
}
