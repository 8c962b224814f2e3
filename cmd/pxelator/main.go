// Command pxelator is the reference server: it composes the packages of
// this module into the full network-boot stack for one network segment.
//
// Machines are read from and written to -conf (default ./conf) under the
// server's address; what the server keeps for itself (the audit database,
// keys, tokens) goes to -state (default ./state), outside the tree a
// person tracks with git.
//
//	pxelator [-conf DIR] [-state DIR] [-server-ip IP] [-audit URI] [service flags]
//	pxelator dns-token [-state DIR] [-domain ZONE] COMMAND HOST
//
// The second form prints the DNS name, with a token made with the
// server's key (<state>/dns.key), that runs COMMAND for the machine HOST
// on a server started with -dns-commands token.
//
// Every service is on by default and turned off the same way, with the
// value off: -dhcp off, -tftp off, -http off, -dns off, -syslog off,
// -schedule off (kiosk on/off times, package schedule), -ping off
// (monitoring and alerts, package monitor; tuned with -ping-down,
// -alert-cmd and -alert-url).
// The server computes the settings of every service from its flags
// before anything starts, opens every socket, and only then serves; a
// socket it cannot open stops the start with one line that names the
// address, the reason and the fix.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/web"
)

// gcPercent is the garbage collector's target unless GOGC says otherwise:
// the server's live heap is small and steady (the store's index, socket
// buffers) and its garbage comes in bursts, a few kilobytes per packet, so
// collecting once the heap has grown by four times the live heap rather
// than by as much again costs a few megabytes and saves most of the
// collector's processor time under load.
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	err := run(ctx, os.Args[1:], os.Stdout, log)
	if errors.Is(err, flag.ErrHelp) {
		return // -h: the usage is printed
	}
	if err != nil {
		log.Error("pxelator: exiting", "err", err)
		os.Exit(1)
	}
}

// shutdownTimeout bounds the stop of all services together.
const shutdownTimeout = 10 * time.Second

// run is the whole server: flags to settings, settings to services, and
// the services started and stopped as one group. It returns
// flag.ErrHelp after printing the usage for -h.
func run(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	if len(args) > 0 && args[0] == "dns-token" {
		return dnsTokenCommand(args[1:], stdout)
	}
	set, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	return serveSettings(ctx, set, stdout, log)
}

// serveSettings runs the server of set until ctx is done. Tests give it
// settings that no flag sets, such as the scheduler's clock.
func serveSettings(ctx context.Context, set *settings, stdout io.Writer, log *slog.Logger) error {
	store, err := openStore(ctx, set, log)
	if err != nil {
		return err
	}
	defer store.Close()
	rec, query, closeAudit, err := openAudit(ctx, set.auditURI, set.state, set.audit.retention, log)
	if err != nil {
		return err
	}
	d := deps{store: store, audit: rec, query: query, log: log}
	if set.boot.http.on() {
		d.metrics = newMetrics()
		if b, ok := rec.(*audit.Batcher); ok {
			d.register(auditMetrics(b))
		}
	}
	if d.web, err = newWeb(set, d, stdout); err != nil {
		return errors.Join(err, closeAudit(context.Background()))
	}
	svcs, err := newServices(set, d)
	if err != nil {
		return errors.Join(err, closeAudit(context.Background()))
	}
	stopProfile, err := startProfile(set.cpuprofile)
	if err != nil {
		return errors.Join(err, closeAudit(context.Background()))
	}
	err = runGroup(ctx, svcs, func(listening []string) { banner(ctx, stdout, set, store, listening) }, shutdownTimeout)
	stopProfile()
	if err == nil {
		fmt.Fprintln(stdout, "pxelator: stopped")
	}
	shut, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return errors.Join(err, closeAudit(shut))
}

// deps are what every service is built on: opened once by run.
type deps struct {
	store   pxelator.Store
	audit   audit.Recorder       // nil: no audit
	query   audit.Querier        // the audit store, for the web page; nil: no audit
	metrics *prometheus.Registry // the counters /metrics serves; nil: no HTTP
	web     *web.Handler         // the web overview at / of the HTTP server; nil: no HTTP
	log     *slog.Logger
}

// banner says, once every service listens, what the server answers and
// where.
func banner(ctx context.Context, w io.Writer, set *settings, store pxelator.Store, listening []string) {
	machines, _ := store.List(ctx)
	fmt.Fprintf(w, "pxelator: serving segment %v (%s) with %d machines from %s; audit to %s\n",
		set.serverIP, set.serverWhy, len(machines), set.conf, auditName(set.auditURI, set.state))
	for _, l := range set.describe() {
		fmt.Fprintf(w, "pxelator:   %s\n", l)
	}
	fmt.Fprintf(w, "pxelator: listening: %s\n", strings.Join(listening, " "))
}

// startProfile starts a CPU profile to path, when set, and returns the
// function that ends it.
func startProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
