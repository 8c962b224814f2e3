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

	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator/dhcpd"
)

// dhcpService serves DHCP, BOOTP and PXE from the store (package dhcpd),
// or proxy DHCP beside another DHCP server with -proxy-dhcp.
func dhcpService() *service {
	var (
		addr, iface, rng, subnet, script string
		proxy                            bool
		workers, burst                   int
		rate                             float64
		files                            = map[iana.Arch]string{}
	)
	return &service{
		name: "dhcp",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&addr, "dhcp", ":67", "DHCP `ADDR:PORT` (\"off\" to disable)")
			fs.StringVar(&iface, "iface", "", "serve DHCP on interface `NAME` only (default: all)")
			fs.StringVar(&rng, "range", "", "addresses for new machines, `FIRST-LAST` (default: .100-.250 of the server's /24)")
			fs.StringVar(&subnet, "dhcp-subnet", "", "the segment's `PREFIX`, e.g. 10.77.0.0/16 (default: the server's /24)")
			fs.StringVar(&script, "ipxe-script", "", "`URL` given to clients already running iPXE, e.g. http://{server}/boot.ipxe?mac={mac}; \"none\": iPXE gets the boot file of its architecture (default: boot.ipxe of the HTTP boot service)")
			fs.Func("boot-file", "boot file of a client architecture, `ARCH=FILE` (RFC 4578 number, e.g. 0=undionly.kpxe, 7=snponly.efi); repeatable", func(v string) error {
				a, f, ok := strings.Cut(v, "=")
				n, err := strconv.ParseUint(a, 10, 16)
				if !ok || err != nil {
					return fmt.Errorf("want ARCH=FILE, e.g. 7=snponly.efi")
				}
				files[iana.Arch(n)] = f
				return nil
			})
			fs.BoolVar(&proxy, "proxy-dhcp", false, "proxy DHCP: only boot information for PXE clients, on the DHCP port and 4011")
			fs.IntVar(&workers, "dhcp-workers", dhcpd.DefaultWorkers, "DHCP requests handled at once")
			fs.IntVar(&burst, "dhcp-new-burst", 0, "new machines an interface or relay may create at once, `N` (0: no limit)")
			fs.Float64Var(&rate, "dhcp-new-rate", 1, "new machines an interface or relay may create per second after the burst")
		},
		start: func(ctx context.Context, st *stack) (func(context.Context) error, error) {
			if addr == "off" {
				return nil, nil
			}
			cfg := dhcpd.Config{
				ServerIP:  st.serverIP,
				DNS:       []netip.Addr{st.serverIP},
				LogServer: st.serverIP, // the syslog receiver
				Proxy:     proxy,
				Limit:     dhcpd.Limit{Burst: burst, Rate: rate},
				Recorder:  st.audit,
				Logger:    st.log,
			}
			var err error
			if cfg.Subnet, err = parseSubnet(subnet, st.serverIP); err != nil {
				return nil, err
			}
			if !proxy {
				if cfg.First, cfg.Last, err = parseRange(rng, cfg.Subnet); err != nil {
					return nil, err
				}
			}
			cfg.Boot = bootTable(st.bootURL)
			switch script {
			case "":
			case "none":
				cfg.Boot.IPXEScript = ""
			default:
				cfg.Boot.IPXEScript = script
			}
			maps.Copy(cfg.Boot.Files, files)
			h, err := dhcpd.NewStoreHandler(st.store, cfg)
			if err != nil {
				return nil, err
			}
			addrs := []string{addr}
			if proxy {
				host, _, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, fmt.Errorf("-dhcp %q: %w", addr, err)
				}
				addrs = append(addrs, net.JoinHostPort(host, strconv.Itoa(dhcpd.PXEPort)))
			}
			var srvs []*dhcpd.Server
			for _, a := range addrs {
				srv := &dhcpd.Server{Addr: a, Interface: iface, Handler: h, Workers: workers, Recorder: st.audit, Logger: st.log}
				conn, err := srv.ListenPacket()
				if err != nil {
					for _, s := range srvs {
						s.Shutdown(ctx)
					}
					return nil, err
				}
				srvs = append(srvs, srv)
				go func() {
					if err := srv.ServePacket(conn); err != nil && !errors.Is(err, dhcpd.ErrServerClosed) {
						st.log.Error("dhcp: serving stopped", "addr", a, "err", err)
					}
				}()
				st.log.Info("dhcp: serving", "addr", a, "iface", iface, "proxy", proxy, "range", rng)
			}
			return func(ctx context.Context) error {
				var errs []error
				for _, s := range srvs {
					errs = append(errs, s.Shutdown(ctx))
				}
				errs = append(errs, h.Flush(ctx)) // new machines offered are on disk before the store closes
				var got dhcpd.Stats
				for _, s := range srvs {
					st := s.Stats()
					got.Received += st.Received
					got.Malformed += st.Malformed
					got.Replies += st.Replies
					got.WriteErrors += st.WriteErrors
				}
				hs := h.Stats()
				st.log.Info("dhcp: stopped", "received", got.Received, "malformed", got.Malformed, "replies", got.Replies,
					"write_errors", got.WriteErrors, "new_machines", hs.NewMachines, "busy", hs.Busy, "pool_full", hs.PoolFull,
					"limited", hs.Limited, "naks", hs.NAKs)
				return errors.Join(errs...)
			}, nil
		},
	}
}

// bootTable returns the default boot table with its HTTP files served
// from bootURL, the boot service's HTTP root ("" when it serves none).
func bootTable(bootURL string) *dhcpd.BootTable {
	t := dhcpd.DefaultBootTable()
	if bootURL != "" {
		rebase := func(f string) string { return strings.Replace(f, "http://{server}/", bootURL, 1) }
		for arch, f := range t.Files {
			t.Files[arch] = rebase(f)
		}
		t.IPXEScript = rebase(t.IPXEScript)
	}
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
	return first, last, nil
}
