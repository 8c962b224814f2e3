package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// settings is everything the server makes of its flags, computed in full
// before anything starts: no service reads what another one set, so the
// order services are built and started in changes nothing.
type settings struct {
	conf, state string
	serverIP    netip.Addr
	serverIface string // the interface holding serverIP; "" when none does
	serverWhy   string // how serverIP was chosen, for the start-up lines
	auditURI    string
	cpuprofile  string // where a CPU profile of the serving goes; "" for none

	dhcp     dhcpSettings
	boot     bootSettings
	dns      dnsSettings
	syslog   syslogSettings
	power    powerSettings
	audit    auditSettings
	schedule scheduleSettings
	monitor  monitorSettings
	web      webSettings
}

// serviceSettings are the settings of one service: it registers its
// flags, and resolves them once every flag is parsed and the server's
// address is known.
type serviceSettings interface {
	register(fs *flag.FlagSet)
	resolve(set *settings) error
	// describe says in a line (or lines, separated by newlines) what the
	// service answers and where, for the start-up lines; "" when it is off.
	describe(set *settings) string
}

func (set *settings) services() []serviceSettings {
	return []serviceSettings{&set.dhcp, &set.boot, &set.dns, &set.syslog, &set.power, &set.audit, &set.schedule, &set.monitor, &set.web}
}

// parseFlags parses the command line into settings. It returns
// flag.ErrHelp, after printing the usage to out, for -h.
func parseFlags(args []string, out io.Writer) (*settings, error) {
	fs := flag.NewFlagSet("pxelator", flag.ContinueOnError)
	fs.SetOutput(out)
	set := &settings{}
	fs.StringVar(&set.conf, "conf", "./conf", "directory of machine files: `DIR`/<server-ip>/<machine-ip>/<key>, for git")
	fs.StringVar(&set.state, "state", "./state", "`DIR` of what the server keeps for itself (audit database, keys, tokens); keep it out of git")
	serverIP := fs.String("server-ip", "", "this server's `IP` on the boot segment (default: the address of the only, or the first, interface that is up and not loopback)")
	fs.StringVar(&set.auditURI, "audit", "", "audit store `URI`: mongodb://..., sqlite:PATH or none (default: sqlite:<state>/audit.db)")
	fs.StringVar(&set.cpuprofile, "cpuprofile", "", "write a CPU profile of the serving to `FILE` (for bench/dhcp.sh)")
	for _, s := range set.services() {
		s.register(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: pxelator [flags]\n\nThe PXElator reference server: DHCP, TFTP, HTTP boot, DNS and syslog for one\nnetwork segment, machines as files under -conf, kiosk schedules and ping\nmonitoring. Each service is on by default; its flag set to off turns it off.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags start with -; -h lists them)", fs.Arg(0))
	}
	ifaces, err := upInterfaces()
	if err != nil {
		return nil, err
	}
	if set.serverIP, set.serverIface, set.serverWhy, err = pickServerIP(*serverIP, ifaces); err != nil {
		return nil, err
	}
	for _, s := range set.services() {
		if err := s.resolve(set); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// describe returns the start-up lines of the services that are on.
func (set *settings) describe() []string {
	var lines []string
	for _, s := range set.services() {
		if l := s.describe(set); l != "" {
			lines = append(lines, strings.Split(l, "\n")...)
		}
	}
	return lines
}

// listenAddr is the value of a service's address flag: ADDR:PORT, or off.
type listenAddr struct {
	addr string // "" when off
}

func (a *listenAddr) String() string {
	if a == nil || a.addr == "" {
		return "off"
	}
	return a.addr
}

// Set implements flag.Value.
func (a *listenAddr) Set(v string) error {
	if v == "off" {
		a.addr = ""
		return nil
	}
	if _, _, err := net.SplitHostPort(v); err != nil {
		return fmt.Errorf("want ADDR:PORT (e.g. :53 or 10.0.0.1:53) or off")
	}
	a.addr = v
	return nil
}

func (a *listenAddr) on() bool { return a.addr != "" }

// interval is the value of a flag that sets how often something runs: a
// positive duration, or off (0 is off too).
type interval struct {
	d time.Duration // 0 when off
}

func (v *interval) String() string {
	if v == nil || v.d == 0 {
		return "off"
	}
	return v.d.String()
}

// Set implements flag.Value.
func (v *interval) Set(s string) error {
	if s == "off" || s == "0" {
		v.d = 0
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("want a positive duration (e.g. 10s) or off")
	}
	v.d = d
	return nil
}

func (v *interval) on() bool { return v.d > 0 }

// onOff is the value of a flag that turns a service without an address
// on or off.
type onOff struct {
	off bool
}

func (v *onOff) String() string {
	if v != nil && v.off {
		return "off"
	}
	return "on"
}

// Set implements flag.Value.
func (v *onOff) Set(s string) error {
	switch s {
	case "on":
		v.off = false
	case "off":
		v.off = true
	default:
		return fmt.Errorf("want on or off")
	}
	return nil
}

func (v *onOff) on() bool { return !v.off }

// ifaceAddrs is an interface that is up and its IPv4 addresses.
type ifaceAddrs struct {
	name     string
	loopback bool
	addrs    []netip.Addr
}

// upInterfaces lists the interfaces that are up with their IPv4
// addresses, in the system's order.
func upInterfaces() ([]ifaceAddrs, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("listing interfaces: %w", err)
	}
	var out []ifaceAddrs
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		ia := ifaceAddrs{name: ifi.Name, loopback: ifi.Flags&net.FlagLoopback != 0}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() {
					ia.addrs = append(ia.addrs, ip.Unmap())
				}
			}
		}
		if len(ia.addrs) > 0 {
			out = append(out, ia)
		}
	}
	return out, nil
}

// pickServerIP parses flagValue, or picks this host's address on the
// boot segment when it is empty: the address of the only interface that
// is up and not loopback, the first of several (saying so), or loopback
// when there is none. It returns the interface holding the address and
// why it was chosen.
func pickServerIP(flagValue string, ifaces []ifaceAddrs) (ip netip.Addr, iface, why string, err error) {
	if flagValue != "" {
		ip, err := netip.ParseAddr(flagValue)
		if err != nil || !ip.Is4() {
			return netip.Addr{}, "", "", fmt.Errorf("-server-ip %q: not an IPv4 address", flagValue)
		}
		for _, ia := range ifaces {
			if slices.Contains(ia.addrs, ip) {
				return ip, ia.name, "-server-ip, on " + ia.name, nil
			}
		}
		return ip, "", "-server-ip; no interface of this host has it", nil
	}
	var candidates []string
	for _, ia := range ifaces {
		if ia.loopback {
			continue
		}
		for _, a := range ia.addrs {
			candidates = append(candidates, ia.name+" "+a.String())
			if !ip.IsValid() {
				ip, iface = a, ia.name
			}
		}
	}
	switch len(candidates) {
	case 0:
		return netip.MustParseAddr("127.0.0.1"), loopbackName(ifaces), "no interface but loopback has an IPv4 address: serving loopback only; give -server-ip", nil
	case 1:
		return ip, iface, "the only address not on loopback, on " + iface, nil
	}
	return ip, iface, fmt.Sprintf("the first of %d candidates (%s); give -server-ip to choose another",
		len(candidates), strings.Join(candidates, ", ")), nil
}

func loopbackName(ifaces []ifaceAddrs) string {
	for _, ia := range ifaces {
		if ia.loopback {
			return ia.name
		}
	}
	return ""
}

// splitList splits a comma-separated flag value, dropping empty fields.
func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parsePrefixes parses a comma-separated list of IP prefixes.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range splitList(s) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
