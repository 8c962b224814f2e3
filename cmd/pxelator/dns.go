package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/netip"
	"strings"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/internal/serve"
)

// dnsOptions are the flags of the DNS service.
type dnsOptions struct {
	addr     string
	domain   string
	networks string
	clients  string
	forward  string
	profiles string
}

// dnsService answers the machines' names and runs DNS-name commands.
func dnsService() *service {
	o := &dnsOptions{}
	return &service{
		name: "dns",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&o.addr, "dns", ":53", "serve DNS over UDP and TCP on `ADDR:PORT` (\"\" for none)")
			fs.StringVar(&o.domain, "domain", "pxe", "DNS `ZONE` of the machines' names; commands are under do.ZONE")
			fs.StringVar(&o.networks, "dns-networks", "", "comma-separated `PREFIXES` answered with PTR records (default: the server's /24)")
			fs.StringVar(&o.clients, "dns-clients", "", "comma-separated `PREFIXES` whose clients may run commands and use -dns-forward (default: -dns-networks and loopback)")
			fs.StringVar(&o.forward, "dns-forward", "", "comma-separated upstream `ADDR:PORT`s for other names (default: REFUSED)")
			fs.StringVar(&o.profiles, "dns-profiles", "", "comma-separated boot `PROFILES`: boot.<profile>.<host>.do.ZONE sets a machine's profile")
		},
		start: func(ctx context.Context, st *stack) (func(context.Context) error, error) {
			if o.addr == "" {
				return nil, nil
			}
			stop, _, err := startDNS(ctx, st, o)
			return stop, err
		},
	}
}

// dnsCommands returns the commands the reference server registers. A
// command of another package is one more line here.
func dnsCommands(st *stack, o *dnsOptions) map[string]dnsd.CommandFunc {
	cmds := map[string]dnsd.CommandFunc{
		"netboot.off": dnsSetAttr(st.store, pxelator.AttrNetboot, "false"), // boot from disk from now on
		"netboot.on":  dnsSetAttr(st.store, pxelator.AttrNetboot, ""),
	}
	maps.Copy(cmds, powerCommands(st))
	for _, p := range dnsSplitList(o.profiles) {
		cmds["boot."+p] = dnsSetAttr(st.store, pxelator.AttrProfile, p)
	}
	return cmds
}

// dnsSetAttr returns a command that sets the machine's attribute key to
// value in the store.
func dnsSetAttr(store pxelator.Store, key, value string) dnsd.CommandFunc {
	return func(ctx context.Context, m pxelator.Machine) error {
		m.Set(key, value)
		return store.Put(ctx, m)
	}
}

// startDNS starts the DNS server and returns the function that stops it
// and the address it listens on.
func startDNS(ctx context.Context, st *stack, o *dnsOptions) (stop func(context.Context) error, addr string, err error) {
	networks, err := dnsParsePrefixes(o.networks)
	if err != nil {
		return nil, "", fmt.Errorf("-dns-networks: %w", err)
	}
	if networks == nil {
		networks = []netip.Prefix{netip.PrefixFrom(st.serverIP, 24).Masked()}
	}
	clients, err := dnsParsePrefixes(o.clients)
	if err != nil {
		return nil, "", fmt.Errorf("-dns-clients: %w", err)
	}
	if clients == nil {
		clients = append([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, networks...)
	}
	h, err := dnsd.NewStoreHandler(dnsd.Config{
		Zone:           o.domain,
		Store:          st.store,
		Server:         st.serverIP,
		Networks:       networks,
		CommandClients: clients,
		Forward:        dnsSplitList(o.forward),
		ForwardClients: clients,
		Recorder:       st.audit,
		Logger:         st.log,
	})
	if err != nil {
		return nil, "", err
	}
	for name, fn := range dnsCommands(st, o) {
		h.HandleCommand(name, fn)
	}
	pc, l, err := serve.Listen(o.addr)
	if err != nil {
		h.Close()
		return nil, "", fmt.Errorf("dns: %w", err)
	}
	srv := &dnsd.Server{Addr: o.addr, Handler: h}
	serveOn := func(f func() error) {
		if err := f(); !errors.Is(err, dnsd.ErrServerClosed) {
			st.log.Error("dns: serving", "err", err)
		}
	}
	go serveOn(func() error { return srv.ServePacket(pc) })
	go serveOn(func() error { return srv.Serve(l) })
	addr = pc.LocalAddr().String()
	st.log.Info("dns: serving", "addr", addr, "zone", o.domain, "networks", networks)
	return func(ctx context.Context) error {
		defer h.Close()
		return srv.Shutdown(ctx)
	}, addr, nil
}

func dnsSplitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func dnsParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range dnsSplitList(s) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
