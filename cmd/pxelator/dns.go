package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

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
	commands, commandNetworks  string

	// Resolved from the flags.
	cfg     dnsd.Config
	proofs  []string // of the commands: "token", "self", "networks"; none when off
	keyPath string   // the token key, when "token" is among proofs
}

// The proofs -dns-commands may name; see dnsd's package documentation.
var dnsProofs = []string{"token", "self", "networks"}

func (s *dnsSettings) register(fs *flag.FlagSet) {
	s.addr = listenAddr{addr: ":53"}
	fs.Var(&s.addr, "dns", "serve DNS over UDP and TCP on `ADDR:PORT`, or off")
	fs.StringVar(&s.domain, "domain", "pxe", "DNS `ZONE` of the machines' names; commands are under do.ZONE")
	fs.StringVar(&s.networks, "dns-networks", "", "comma-separated `PREFIXES` answered with PTR records (default: the server's /24)")
	fs.StringVar(&s.clients, "dns-clients", "", "comma-separated `PREFIXES` whose clients may use -dns-forward (default: -dns-networks and loopback)")
	fs.StringVar(&s.forward, "dns-forward", "", "comma-separated upstream `ADDR:PORT`s for other names (default: REFUSED)")
	fs.StringVar(&s.profiles, "dns-profiles", "", "comma-separated boot `PROFILES`: boot.<profile>.<host>.do.ZONE sets a machine's profile")
	fs.StringVar(&s.commands, "dns-commands", "off", "commands by DNS name: off, or the comma-separated `PROOFS` that may run them: "+
		"token (names from pxelator dns-token COMMAND HOST; the only proof for off, cycle, reset and the like), "+
		"self (wake and on, from the machine itself), networks (wake and on, from -dns-command-networks)")
	fs.StringVar(&s.commandNetworks, "dns-command-networks", "", "comma-separated `PREFIXES` whose clients may wake machines by name (with -dns-commands networks)")
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
		Forward:        splitList(s.forward),
		ForwardClients: clients,
	}
	return s.resolveCommands(set)
}

// resolveCommands resolves -dns-commands and -dns-command-networks.
func (s *dnsSettings) resolveCommands(set *settings) error {
	s.proofs = nil
	if s.commands != "off" {
		for _, p := range splitList(s.commands) {
			if !slices.Contains(dnsProofs, p) {
				return fmt.Errorf("-dns-commands %q: want off, or some of %s", s.commands, strings.Join(dnsProofs, ","))
			}
			if !slices.Contains(s.proofs, p) {
				s.proofs = append(s.proofs, p)
			}
		}
		if s.proofs == nil {
			return fmt.Errorf("-dns-commands %q: want off, or some of %s", s.commands, strings.Join(dnsProofs, ","))
		}
	}
	nets, err := parsePrefixes(s.commandNetworks)
	if err != nil {
		return fmt.Errorf("-dns-command-networks: %w", err)
	}
	switch on := slices.Contains(s.proofs, "networks"); {
	case on && nets == nil:
		return errors.New("-dns-commands networks: give the networks with -dns-command-networks, e.g. 10.0.0.0/28")
	case !on && nets != nil:
		return errors.New("-dns-command-networks: commands from networks need -dns-commands networks")
	}
	s.cfg.CommandClients = nets
	s.cfg.CommandSelf = slices.Contains(s.proofs, "self")
	if slices.Contains(s.proofs, "token") {
		s.keyPath = filepath.Join(set.state, dnsKeyFile)
	}
	return nil
}

func (s *dnsSettings) describe(*settings) string {
	if !s.addr.on() {
		return ""
	}
	return fmt.Sprintf("DNS on %s (UDP and TCP): zone %s, PTR for %v; %s", s.addr.addr, s.domain, s.cfg.Networks, s.describeCommands())
}

// describeCommands says which commands run, and from where.
func (s *dnsSettings) describeCommands() string {
	if len(s.proofs) == 0 {
		return "commands under do." + s.domain + " off (-dns-commands)"
	}
	var from []string
	for _, p := range s.proofs {
		switch p {
		case "token":
			from = append(from, "names with a token (pxelator dns-token COMMAND HOST)")
		case "self":
			from = append(from, "wake and on by the machine itself")
		case "networks":
			from = append(from, fmt.Sprintf("wake and on from %v", s.cfg.CommandClients))
		}
	}
	return "commands under do." + s.domain + " from " + strings.Join(from, ", ")
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
	if s.keyPath != "" {
		tokens, err := dnsTokens(s.keyPath, d.log)
		if err != nil {
			return nil, err
		}
		cfg.CommandTokens = tokens
	}
	h, err := dnsd.NewStoreHandler(cfg)
	if err != nil {
		return nil, err
	}
	for name, c := range dnsCommands(set, d) {
		h.Handle(name, c)
	}
	srv := &dnsd.Server{Handler: h}
	d.register(dnsMetrics(h))
	var pcs []net.PacketConn
	var l net.Listener
	return []*service{{
		name: "dns",
		listen: func() (string, error) {
			var err error
			if pcs, l, err = serve.Listen(s.addr.addr, dnsd.UDPSockets()); err != nil {
				return "", listenError("dns", s.addr.addr, err)
			}
			return pcs[0].LocalAddr().String(), nil
		},
		serve: func() error {
			return serverErr(serve.ServeBoth(pcs, l, srv.ServePacket, srv.Serve, dnsd.ErrServerClosed), dnsd.ErrServerClosed)
		},
		stop: func(ctx context.Context) error {
			defer h.Close()
			defer closeQuietly(append(closers(pcs), l)...) // when Serve never ran
			err := srv.Shutdown(ctx)
			st := h.Stats()
			d.log.Info("dns: stopped", "commands", st.Commands, "repeats", st.Repeats, "refused", st.Refused, "bad_tokens", st.BadTokens)
			return err
		},
	}}, nil
}

// dnsCommands returns the commands the reference server registers. A
// command of another package is one more line here. Every one is
// destructive (it runs with a token only) but those of dnsHarmless.
func dnsCommands(set *settings, d deps) map[string]dnsd.Command {
	fns := map[string]dnsd.CommandFunc{
		"netboot.off": dnsSetAttr(d.store, pxelator.AttrNetboot, "false"), // boot from disk from now on
		"netboot.on":  dnsSetAttr(d.store, pxelator.AttrNetboot, ""),
	}
	maps.Copy(fns, powerCommands(set, d))
	for _, p := range splitList(set.dns.profiles) {
		fns["boot."+p] = dnsSetAttr(d.store, pxelator.AttrProfile, p)
	}
	cmds := make(map[string]dnsd.Command, len(fns))
	for name, fn := range fns {
		cmds[name] = dnsd.Command{Run: fn, Destructive: !slices.Contains(dnsHarmless, name)}
	}
	return cmds
}

// dnsHarmless are the commands that run from a bare name where
// -dns-commands allows one: at worst they switch on a machine that is
// on. The others take a machine from its user or change how it boots.
var dnsHarmless = []string{"wake", "on"}

// dnsSetAttr returns a command that sets the machine's attribute key to
// value in the store.
func dnsSetAttr(store pxelator.Store, key, value string) dnsd.CommandFunc {
	return func(ctx context.Context, m pxelator.Machine) error {
		m.Set(key, value)
		return store.Put(ctx, m)
	}
}

// dnsKeyFile is the file in the state directory that holds the key of
// the DNS command tokens.
const dnsKeyFile = "dns.key"

// dnsTokens returns the Tokens of the key in the file path, which is made
// (32 random bytes, in hex, mode 0600) when there is none.
func dnsTokens(path string, log *slog.Logger) (*dnsd.Tokens, error) {
	key, err := readKey(path, log)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = makeKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("dns: token key: %w", err)
	}
	return dnsd.NewTokens(key, 0)
}

// readKey reads a key file, making it mode 0600 when others may read it.
func readKey(path string, log *slog.Logger) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < dnsd.MinTokenKey {
		return nil, fmt.Errorf("%s: want %d or more bytes in hex; remove it to have a new one made", path, dnsd.MinTokenKey)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("%s is readable by others and cannot be made mode 0600: %w", path, err)
		}
		log.Warn("dns: the token key was readable by others; made it mode 0600 (tokens already given out stay valid: remove the file for a new key)", "path", path)
	}
	return key, nil
}

// makeKey makes a new key file at path, unless another process made one
// first, and returns the key in it.
func makeKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dns.key.*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(key) + "\n")
	if err = errors.Join(err, tmp.Chmod(0o600), tmp.Sync(), tmp.Close()); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return readKey(path, slog.New(slog.DiscardHandler))
	} else if err != nil {
		return nil, err
	}
	return key, nil
}

// dnsTokenCommand is the sub-command dns-token: it prints the name that
// runs a command for a machine, with a token made with the server's key.
func dnsTokenCommand(args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("pxelator dns-token", flag.ContinueOnError)
	flags.SetOutput(stdout)
	state := flags.String("state", "./state", "the server's state `DIR`, where its key is")
	domain := flags.String("domain", "pxe", "the DNS `ZONE` of the server (-domain); commands are under do.ZONE")
	flags.Usage = func() {
		fmt.Fprintf(flags.Output(), "Usage: pxelator dns-token [flags] COMMAND HOST\n\n"+
			"Prints the DNS name that runs COMMAND for the machine HOST on a server started\n"+
			"with -dns-commands token, e.g. ping -c1 $(pxelator dns-token off kiosk-01).\n"+
			"The name is good for %v to %v and runs the command once.\n\nFlags:\n", dnsd.DefaultTokenWindow, 2*dnsd.DefaultTokenWindow)
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() != 2 {
		flags.Usage()
		return errors.New("dns-token: want COMMAND HOST")
	}
	tokens, err := dnsTokens(filepath.Join(*state, dnsKeyFile), slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, strings.TrimSuffix(tokens.Name(flags.Arg(0), flags.Arg(1), "do."+*domain, time.Now()), "."))
	return nil
}
