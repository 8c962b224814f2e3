package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/netip"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/internal/serve"
)

// dnsSettings are the flags of the DNS service: the machines' names, and
// commands by DNS name.
type dnsSettings struct {
	addr                       listenAddr
	domain                     string
	networks, clients, forward string
	profiles                   string

	// Resolved from the flags.
	cfg dnsd.Config
}

func (s *dnsSettings) register(fs *flag.FlagSet) {
	s.addr = listenAddr{addr: ":53"}
	fs.Var(&s.addr, "dns", "serve DNS over UDP and TCP on `ADDR:PORT`, or off")
	fs.StringVar(&s.domain, "domain", "pxe", "DNS `ZONE` of the machines' names; commands are under do.ZONE")
	fs.StringVar(&s.networks, "dns-networks", "", "comma-separated `PREFIXES` answered with PTR records (default: the server's /24)")
	fs.StringVar(&s.clients, "dns-clients", "", "comma-separated `PREFIXES` whose clients may run commands and use -dns-forward (default: -dns-networks and loopback)")
	fs.StringVar(&s.forward, "dns-forward", "", "comma-separated upstream `ADDR:PORT`s for other names (default: REFUSED)")
	fs.StringVar(&s.profiles, "dns-profiles", "", "comma-separated boot `PROFILES`: boot.<profile>.<host>.do.ZONE sets a machine's profile")
}

func (s *dnsSettings) resolve(set *settings) error {
	if !s.addr.on() {
		return nil
	}
	if s.domain == "" {
		return errors.New("-domain: empty; give the zone of the machines' names, e.g. pxe")
	}
	networks, err := parsePrefixes(s.networks)
	if err != nil {
		return fmt.Errorf("-dns-networks: %w", err)
	}
	if networks == nil {
		networks = []netip.Prefix{netip.PrefixFrom(set.serverIP, 24).Masked()}
	}
	clients, err := parsePrefixes(s.clients)
	if err != nil {
		return fmt.Errorf("-dns-clients: %w", err)
	}
	if clients == nil {
		clients = append([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, networks...)
	}
	for _, f := range splitList(s.forward) {
		if _, _, err := net.SplitHostPort(f); err != nil {
			return fmt.Errorf("-dns-forward %q: want ADDR:PORT", f)
		}
	}
	s.cfg = dnsd.Config{
		Zone:           s.domain,
		Server:         set.serverIP,
		Networks:       networks,
		CommandClients: clients,
		Forward:        splitList(s.forward),
		ForwardClients: clients,
	}
	return nil
}

func (s *dnsSettings) describe(*settings) string {
	if !s.addr.on() {
		return ""
	}
	return fmt.Sprintf("DNS on %s (UDP and TCP): zone %s, PTR for %v, commands under %s from %v",
		s.addr.addr, s.domain, s.cfg.Networks, "do."+s.domain, s.cfg.CommandClients)
}

// newDNS builds the DNS service: the machines' names from the store and
// the commands of dnsCommands.
func newDNS(set *settings, d deps) ([]*service, error) {
	s := &set.dns
	if !s.addr.on() {
		return nil, nil
	}
	cfg := s.cfg
	cfg.Store, cfg.Recorder, cfg.Logger = d.store, d.audit, d.log
	h, err := dnsd.NewStoreHandler(cfg)
	if err != nil {
		return nil, err
	}
	for name, fn := range dnsCommands(set, d) {
		h.HandleCommand(name, fn)
	}
	srv := &dnsd.Server{Handler: h}
	var pc net.PacketConn
	var l net.Listener
	return []*service{{
		name: "dns",
		listen: func() (string, error) {
			var err error
			if pc, l, err = serve.Listen(s.addr.addr); err != nil {
				return "", listenError("dns", s.addr.addr, err)
			}
			return pc.LocalAddr().String(), nil
		},
		serve: func() error {
			return serverErr(serve.ServeBoth(pc, l, srv.ServePacket, srv.Serve, dnsd.ErrServerClosed), dnsd.ErrServerClosed)
		},
		stop: func(ctx context.Context) error {
			defer h.Close()
			defer closeQuietly(pc, l) // when Serve never ran
			return srv.Shutdown(ctx)
		},
	}}, nil
}

// dnsCommands returns the commands the reference server registers. A
// command of another package is one more line here.
func dnsCommands(set *settings, d deps) map[string]dnsd.CommandFunc {
	cmds := map[string]dnsd.CommandFunc{
		"netboot.off": dnsSetAttr(d.store, pxelator.AttrNetboot, "false"), // boot from disk from now on
		"netboot.on":  dnsSetAttr(d.store, pxelator.AttrNetboot, ""),
	}
	maps.Copy(cmds, powerCommands(set, d))
	for _, p := range splitList(set.dns.profiles) {
		cmds["boot."+p] = dnsSetAttr(d.store, pxelator.AttrProfile, p)
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
