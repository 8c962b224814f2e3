// Command pxelator is the reference server: it composes the packages of
// this module into the full network-boot stack for one network segment.
//
// Machines are read from and written to -conf (default ./conf) under the
// server's address, and every event goes to the audit store given by
// -audit (default: the embedded store under the conf directory).
//
//	pxelator [-conf DIR] [-server-ip IP] [-audit URI] [protocol flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// stack is what every service of the reference server shares.
type stack struct {
	conf     string
	serverIP netip.Addr
	store    pxelator.Store
	audit    audit.Recorder
	log      *slog.Logger
	power    powerOptions // set by the power service, which starts first
	// bootURL is the URL template ({server} for the server's address) of
	// the HTTP boot files, set by the boot service when it serves HTTP.
	bootURL string
}

// service is one protocol of the reference server. flags registers its
// flags; start starts it and returns the function that stops it.
type service struct {
	name  string
	flags func(fs *flag.FlagSet)
	start func(ctx context.Context, st *stack) (stop func(context.Context) error, err error)
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout, log); err != nil {
		log.Error("pxelator: exiting", "err", err)
		os.Exit(1)
	}
}

// services lists the protocols the reference server runs, in the order
// they start: power and boot set what dns and dhcp read from the stack.
func services() []*service {
	return []*service{
		powerService(),
		dnsService(),
		bootService(),
		dhcpService(),
		syslogService(),
	}
}

func run(ctx context.Context, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("pxelator", flag.ContinueOnError)
	conf := fs.String("conf", "./conf", "directory of machine files: `DIR`/<server-ip>/<machine-ip>/<key>")
	serverIP := fs.String("server-ip", "", "this server's `IP` on the boot segment (default: the first non-loopback IPv4 address)")
	auditURI := fs.String("audit", "", "audit store `URI`: mongodb://..., sqlite:PATH or none (default: sqlite under the conf directory)")
	svcs := services()
	for _, s := range svcs {
		if s.flags != nil {
			s.flags(fs)
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	ip, err := pickServerIP(*serverIP)
	if err != nil {
		return err
	}
	st := &stack{conf: *conf, serverIP: ip, log: log}

	store, err := openStore(ctx, *conf, ip, log)
	if err != nil {
		return err
	}
	defer store.Close()
	st.store = store

	rec, closeAudit, err := openAudit(ctx, *auditURI, *conf, log)
	if err != nil {
		return err
	}
	st.audit = rec

	var stops []func(context.Context) error
	var startErr error
	for _, s := range svcs {
		stop, err := s.start(ctx, st)
		if err != nil {
			startErr = fmt.Errorf("%s: %w", s.name, err)
			break
		}
		if stop != nil {
			stops = append(stops, stop)
		}
	}
	machines, _ := store.List(ctx)
	fmt.Fprintf(stdout, "pxelator: serving segment %v with %d machines from %s; audit to %s\n",
		ip, len(machines), *conf, auditName(*auditURI, *conf))
	if startErr == nil {
		<-ctx.Done()
		fmt.Fprintln(stdout, "pxelator: shutting down")
	}

	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for i := len(stops) - 1; i >= 0; i-- {
		errs = append(errs, stops[i](shut))
	}
	errs = append(errs, closeAudit(shut))
	return errors.Join(append(errs, startErr)...)
}

// pickServerIP parses flagValue, or picks the first non-loopback IPv4
// address of this host when it is empty.
func pickServerIP(flagValue string) (netip.Addr, error) {
	if flagValue != "" {
		ip, err := netip.ParseAddr(flagValue)
		if err != nil || !ip.Is4() {
			return netip.Addr{}, fmt.Errorf("-server-ip %q: not an IPv4 address", flagValue)
		}
		return ip, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("listing addresses: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() && !ip.IsLoopback() {
				return ip.Unmap(), nil
			}
		}
	}
	return netip.MustParseAddr("127.0.0.1"), nil
}
