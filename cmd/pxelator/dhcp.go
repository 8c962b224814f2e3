package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator/dhcpd"
)

// dhcpSettings are the flags of the DHCP service (package dhcpd): DHCP,
// BOOTP and PXE from the store, or proxy DHCP beside another DHCP server.
type dhcpSettings struct {
	addr                listenAddr
	iface               string
	rng, subnet, script string
	proxy               bool
	workers, burst      int
	rate                float64
	relays              string
	hold, quarantine    time.Duration
	files               map[iana.Arch]string

	// Resolved from the flags.
	cfg         dhcpd.Config
	ifaceUsed   string // "" for every interface
	first, last netip.Addr
	prefix      netip.Prefix
}

func (s *dhcpSettings) register(fs *flag.FlagSet) {
	s.addr = listenAddr{addr: fmt.Sprintf(":%d", dhcpd.ServerPort)}
	s.files = map[iana.Arch]string{}
	fs.Var(&s.addr, "dhcp", "serve DHCP on `ADDR:PORT`, or off")
	fs.StringVar(&s.iface, "iface", "", "serve DHCP on interface `NAME` only, or all (default: the interface of -server-ip)")
	fs.StringVar(&s.rng, "range", "", "addresses for new machines, `FIRST-LAST` (default: .100-.250 of the server's /24)")
	fs.StringVar(&s.subnet, "dhcp-subnet", "", "the segment's `PREFIX`, e.g. 10.77.0.0/16 (default: the server's /24)")
	fs.StringVar(&s.script, "ipxe-script", "", "`URL` given to clients already running iPXE, e.g. http://{server}/boot.ipxe?mac={mac}; \"none\": iPXE gets the boot file of its architecture (default: boot.ipxe of the HTTP boot service)")
	fs.Func("boot-file", "boot file of a client architecture, `ARCH=FILE` (RFC 4578 number, e.g. 0=undionly.kpxe, 7=snponly.efi); repeatable", func(v string) error {
		a, f, ok := strings.Cut(v, "=")
		n, err := strconv.ParseUint(a, 10, 16)
		if !ok || err != nil || f == "" {
			return fmt.Errorf("want ARCH=FILE, e.g. 7=snponly.efi")
		}
		s.files[iana.Arch(n)] = f
		return nil
	})
	fs.BoolVar(&s.proxy, "proxy-dhcp", false, "proxy DHCP: only boot information for PXE clients, on the DHCP port and 4011")
	// One worker by default: the store's handler never waits (a new
	// machine is written behind its reply, a DECLINE's removal aside),
	// and one goroutine reading batches and answering them spares the
	// wake-up of another reader for every packet: 190-195 us of CPU an
	// exchange against 214-241 us with 128 (bench/dhcp.sh at 3,000/s).
	fs.IntVar(&s.workers, "dhcp-workers", 1, "DHCP requests handled at once (more for a store that can wait)")
	fs.IntVar(&s.burst, "dhcp-new-burst", dhcpd.DefaultBurst, "new machines the clients of an interface, and its relays, may create at once, `N` (0: no limit)")
	fs.Float64Var(&s.rate, "dhcp-new-rate", dhcpd.DefaultRate, "`N` new machines per second after the burst, per interface")
	fs.StringVar(&s.relays, "dhcp-relays", "", "answer relayed requests only from the relay agents at `ADDRS` (addresses or prefixes, comma-separated; default: none, relayed requests are dropped)")
	fs.DurationVar(&s.hold, "dhcp-offer-hold", dhcpd.DefaultOfferHold, "how long an OFFER to a new machine keeps its address for it (in memory; a machine is written when it REQUESTs)")
	fs.DurationVar(&s.quarantine, "dhcp-quarantine", dhcpd.DefaultQuarantine, "how long a declined address is not handed out")
}

func (s *dhcpSettings) resolve(set *settings) error {
	if !s.addr.on() {
		return nil
	}
	switch s.iface {
	case "all":
		s.ifaceUsed = ""
	case "":
		s.ifaceUsed = set.serverIface
		if s.ifaceUsed == "" {
			return fmt.Errorf("-dhcp: no interface has %v (%s); give -iface NAME, or -iface all to answer on every interface", set.serverIP, set.serverWhy)
		}
	default:
		s.ifaceUsed = s.iface
	}
	var err error
	if s.prefix, err = parseSubnet(s.subnet, set.serverIP); err != nil {
		return err
	}
	if !s.proxy {
		if s.first, s.last, err = parseRange(s.rng, s.prefix); err != nil {
			return err
		}
	}
	if s.workers <= 0 {
		return fmt.Errorf("-dhcp-workers %d: want at least 1", s.workers)
	}
	limit := dhcpd.Limit{Burst: s.burst, Rate: s.rate}
	switch {
	case s.burst < 0 || s.rate < 0:
		return fmt.Errorf("-dhcp-new-burst %d -dhcp-new-rate %v: want numbers of 0 or more (burst 0: no limit)", s.burst, s.rate)
	case s.burst == 0:
		limit = dhcpd.Limit{Burst: -1}
	}
	if s.hold <= 0 || s.quarantine <= 0 {
		return fmt.Errorf("-dhcp-offer-hold %v -dhcp-quarantine %v: want durations over 0", s.hold, s.quarantine)
	}
	relays, err := parseRelays(s.relays)
	if err != nil {
		return fmt.Errorf("-dhcp-relays %q: %v", s.relays, err)
	}
	boot := bootTable(set.httpBase())
	switch s.script {
	case "":
	case "none":
		boot.IPXEScript = ""
	default:
		boot.IPXEScript = s.script
	}
	maps.Copy(boot.Files, s.files)
	s.cfg = dhcpd.Config{
		ServerIP:   set.serverIP,
		Subnet:     s.prefix,
		First:      s.first,
		Last:       s.last,
		LogServer:  set.serverIP, // the syslog receiver
		Proxy:      s.proxy,
		Limit:      limit,
		Relays:     relays,
		OfferHold:  s.hold,
		Quarantine: s.quarantine,
		Boot:       boot,
	}
	if set.dns.addr.on() {
		s.cfg.DNS = []netip.Addr{set.serverIP}
	}
	return nil
}

func (s *dhcpSettings) describe(set *settings) string {
	if !s.addr.on() {
		return ""
	}
	where := "every interface"
	if s.ifaceUsed != "" {
		where = "interface " + s.ifaceUsed
	}
	if s.proxy {
		return fmt.Sprintf("proxy DHCP on %s, %s and port %d: boot files for PXE clients, no addresses", where, s.addr.addr, dhcpd.PXEPort)
	}
	limit := "no limit of new machines"
	if s.burst > 0 {
		limit = fmt.Sprintf("at most %d new machines at once, then %g/s, per interface", s.burst, s.rate)
	}
	relays := "relayed requests dropped (-dhcp-relays)"
	if s.cfg.Relays != nil {
		relays = fmt.Sprintf("relays %v", s.cfg.Relays)
	}
	return fmt.Sprintf("DHCP on %s, %s: new machines get %v-%v of %v; %s; %s", where, s.addr.addr, s.first, s.last, s.prefix, limit, relays)
}

// parseRelays parses -dhcp-relays: addresses and prefixes,
// comma-separated.
func parseRelays(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range splitList(v) {
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// newDHCP builds the DHCP service: a handler on the store and a server
// per port (the DHCP port, and 4011 too for proxy DHCP).
func newDHCP(set *settings, d deps) ([]*service, error) {
	s := &set.dhcp
	if !s.addr.on() {
		return nil, nil
	}
	cfg := s.cfg
	cfg.Recorder, cfg.Logger = d.audit, d.log
	h, err := dhcpd.NewStoreHandler(d.store, cfg)
	if err != nil {
		return nil, err
	}
	addrs := []string{s.addr.addr}
	if s.proxy {
		host, _, _ := net.SplitHostPort(s.addr.addr)
		addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(dhcpd.PXEPort)))
	}
	var svcs []*service
	var srvs []*dhcpd.Server
	for i, a := range addrs {
		srv := &dhcpd.Server{Addr: a, Interface: s.ifaceUsed, Handler: h, Workers: s.workers, Recorder: d.audit, Logger: d.log}
		srvs = append(srvs, srv)
		var conn net.PacketConn
		svc := &service{
			name: "dhcp",
			listen: func() (string, error) {
				c, err := srv.ListenPacket()
				if err != nil {
					return "", listenError("dhcp", a, err)
				}
				conn = c
				return c.LocalAddr().String(), nil
			},
			serve: func() error { return serverErr(srv.ServePacket(conn), dhcpd.ErrServerClosed) },
			stop: func(ctx context.Context) error {
				defer closeQuietly(conn) // when Serve never ran
				return srv.Shutdown(ctx)
			},
		}
		if i == 0 { // the first one stops last: it flushes the handler and logs for both
			svc.stop = func(ctx context.Context) error {
				defer closeQuietly(conn)
				errs := []error{srv.Shutdown(ctx)}
				errs = append(errs, h.Flush(ctx)) // new machines offered are on disk before the store closes
				st, hs := srv.Stats(), h.Stats()
				d.log.Info("dhcp: stopped", "received", st.Received, "malformed", st.Malformed, "replies", st.Replies,
					"write_errors", st.WriteErrors, "new_machines", hs.NewMachines, "busy", hs.Busy, "pool_full", hs.PoolFull,
					"limited", hs.Limited, "naks", hs.NAKs, "silent", hs.Silent, "bad_relays", hs.BadRelays, "reclaimed", hs.Reclaimed,
					"declined", hs.Declined, "declines_ignored", hs.DeclineIgnored, "bad_macs", hs.BadMACs)
				return errors.Join(errs...)
			}
		}
		svcs = append(svcs, svc)
	}
	d.register(dhcpMetrics(srvs, h))
	return svcs, nil
}

// serverErr turns the error a server's Serve returns after Shutdown
// (closed) into nil.
func serverErr(err, closed error) error {
	if errors.Is(err, closed) {
		return nil
	}
	return err
}

// bootTable returns the default boot table with its HTTP files served
// from httpBase, the HTTP boot root ("" when HTTP is off).
func bootTable(httpBase string) *dhcpd.BootTable {
	t := dhcpd.DefaultBootTable()
	if httpBase == "" {
		t.IPXEScript = ""
		for arch, f := range t.Files {
			if strings.HasPrefix(f, "http://") {
				delete(t.Files, arch)
			}
		}
		return t
	}
	rebase := func(f string) string { return strings.Replace(f, "http://{server}/", httpBase, 1) }
	for arch, f := range t.Files {
		t.Files[arch] = rebase(f)
	}
	t.IPXEScript = rebase(t.IPXEScript)
	return t
}

// parseSubnet parses -dhcp-subnet, defaulting to the server's /24.
func parseSubnet(s string, server netip.Addr) (netip.Prefix, error) {
	if s == "" {
		return netip.PrefixFrom(server, 24).Masked(), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || !p.Contains(server) {
		return netip.Prefix{}, fmt.Errorf("-dhcp-subnet %q: not an IPv4 prefix holding %v", s, server)
	}
	return p.Masked(), nil
}

// parseRange parses -range FIRST-LAST, defaulting to .100-.250 of the
// subnet's first /24.
func parseRange(s string, subnet netip.Prefix) (first, last netip.Addr, err error) {
	if s == "" {
		b := subnet.Addr().As4()
		b[3] = 100
		first = netip.AddrFrom4(b)
		b[3] = 250
		return first, netip.AddrFrom4(b), nil
	}
	f, l, ok := strings.Cut(s, "-")
	first, err1 := netip.ParseAddr(f)
	last, err2 := netip.ParseAddr(l)
	if !ok || err1 != nil || err2 != nil || !first.Is4() || !last.Is4() || last.Less(first) {
		return first, last, fmt.Errorf("-range %q: want FIRST-LAST IPv4 addresses", s)
	}
	if !subnet.Contains(first) || !subnet.Contains(last) {
		return first, last, fmt.Errorf("-range %q: not inside the subnet %v (-dhcp-subnet)", s, subnet)
	}
	return first, last, nil
}
