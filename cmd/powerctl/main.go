// Command powerctl switches a machine on and off through its management
// controller, or wakes it by Wake-on-LAN.
//
//	powerctl -amt HOST [-user NAME] [-legacy] [-insecure] status|on|off|soft-off|cycle|reset
//	powerctl -drac HOST [-user NAME] [-insecure] status|on|off|soft-off|cycle|reset
//	powerctl -wol MAC [-iface NAME | -broadcast ADDR] [-port 9|7] [-secureon PASSWORD] on
//
// HOST is an address or name with an optional port, or a URL
// (https://HOST for TLS on port 16993 with -amt; -drac speaks Redfish
// over https by default). The password is read from the environment
// (AMT_PASSWORD for -amt, DRAC_PASSWORD for -drac) unless -password is
// given; the user name from -user, then AMT_USER or DRAC_USER, then the
// backend's default (admin for AMT). The password is never printed.
//
// "status" prints the power state (on, off, sleep or unknown); the other
// commands print what was done. Switching on a machine that is on, or off
// one that is off, is not an error. The exit status is 0 on success, 1 when
// the operation failed and 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/power"
	"github.com/pxelator/pxelator/wol"
)

// options are the flags every backend may use.
type options struct {
	user, password string
	insecure       bool
	legacy         bool
	timeout        time.Duration
	iface          string
	broadcast      string
	port           int
	secureon       string
}

// backend describes the machine given to its flag (-amt HOST) to the
// power package.
type backend struct {
	name  string // the flag
	usage string
	env   string // prefix of the credential variables: AMT → AMT_USER, AMT_PASSWORD
	// machine returns the machine and configuration power.For is given.
	machine func(target string, o options) (pxelator.Machine, power.Config, error)
}

func backends() []backend {
	return []backend{
		{name: "amt", usage: "Intel AMT device `HOST` (host[:port] or http(s)://host[:port])", env: "AMT", machine: amtMachine},
		{name: "drac", usage: "Dell iDRAC `HOST` over Redfish (host[:port] or https://host[:port])", env: "DRAC", machine: dracMachine},
		{name: "wol", usage: "wake the machine with hardware address `MAC` by Wake-on-LAN (on only)", machine: wolMachine},
	}
}

func amtMachine(host string, o options) (pxelator.Machine, power.Config, error) {
	var m pxelator.Machine
	m.Set(amt.AttrAddress, host)
	return m, power.Config{
		AMT: amt.Config{
			Username: o.user,
			Password: o.password,
			Legacy:   o.legacy,
			Timeout:  -1, // the -timeout flag bounds the whole command
		},
		InsecureSkipVerify: o.insecure,
	}, nil
}

func dracMachine(host string, o options) (pxelator.Machine, power.Config, error) {
	var m pxelator.Machine
	m.Set(drac.AttrAddress, host)
	return m, power.Config{DRAC: drac.Config{Username: o.user, Password: o.password}, InsecureSkipVerify: o.insecure}, nil
}

func wolMachine(mac string, o options) (pxelator.Machine, power.Config, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return pxelator.Machine{}, power.Config{}, fmt.Errorf("%w: -wol %q is not a MAC address such as 52:54:00:12:34:56", errUsage, mac)
	}
	cfg := power.Config{WoL: wol.Client{Interface: o.iface, Port: o.port}}
	if o.broadcast != "" {
		if cfg.WoL.Broadcast, err = power.ParseBroadcast(o.broadcast); err != nil {
			return pxelator.Machine{}, power.Config{}, fmt.Errorf("%w: -broadcast: %w", errUsage, err)
		}
	}
	if cfg.WoL.Password, err = wol.ParsePassword(o.secureon); err != nil {
		return pxelator.Machine{}, power.Config{}, fmt.Errorf("%w: -secureon: %w", errUsage, err)
	}
	return pxelator.Machine{MAC: hw}, cfg, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// errUsage marks an error in the command line.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	err := powerctl(ctx, args, stdout, stderr, getenv)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 2
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "powerctl:", err)
		return 2
	}
	fmt.Fprintln(stderr, "powerctl:", err)
	return 1
}

func powerctl(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("powerctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	bs := backends()
	targets := make([]string, len(bs))
	for i, b := range bs {
		fs.StringVar(&targets[i], b.name, "", b.usage)
	}
	fs.StringVar(&o.user, "user", "", "user `NAME` (default: $AMT_USER with -amt, and so on for each backend)")
	fs.StringVar(&o.password, "password", "", "password (default: $AMT_PASSWORD with -amt, and so on; prefer the environment: a flag shows in ps)")
	fs.BoolVar(&o.insecure, "insecure", false, "accept any TLS certificate (the self-signed ones BMCs ship)")
	fs.BoolVar(&o.legacy, "legacy", false, "AMT 2 to 5: use the SOAP RemoteControlService instead of WS-Management")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "give up after `DURATION`")
	fs.StringVar(&o.iface, "iface", "", "Wake-on-LAN: send a raw Ethernet frame on interface `NAME` (needs root)")
	fs.StringVar(&o.broadcast, "broadcast", "", "Wake-on-LAN: UDP to this broadcast `ADDR`, such as 192.168.1.255 or 192.168.1.0/24 (default 255.255.255.255)")
	fs.IntVar(&o.port, "port", 9, "Wake-on-LAN: UDP `PORT` (9 or 7)")
	fs.StringVar(&o.secureon, "secureon", "", "Wake-on-LAN: SecureOn `PASSWORD` (01:02:03:04:05:06 or 1.2.3.4)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: powerctl -amt HOST | -drac HOST | -wol MAC [flags] status|on|off|soft-off|cycle|reset")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}

	var (
		chosen *backend
		target string
	)
	for i := range bs {
		if targets[i] == "" {
			continue
		}
		if chosen != nil {
			return fmt.Errorf("%w: give only one of -%s and -%s", errUsage, chosen.name, bs[i].name)
		}
		chosen, target = &bs[i], targets[i]
	}
	if chosen == nil {
		fs.Usage()
		return fmt.Errorf("%w: no machine given", errUsage)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want one command: status, on, off, soft-off, cycle or reset", errUsage)
	}
	cmd := fs.Arg(0)
	if !slices.Contains(power.Actions(), power.Action(cmd)) && cmd != "status" {
		return fmt.Errorf("%w: unknown command %q: want status, on, off, soft-off, cycle or reset", errUsage, cmd)
	}
	if chosen.env != "" {
		if o.user == "" {
			o.user = getenv(chosen.env + "_USER")
		}
		if o.password == "" {
			o.password = getenv(chosen.env + "_PASSWORD")
		}
	}
	m, cfg, err := chosen.machine(target, o)
	if err != nil {
		return err
	}
	c, err := power.For(m, cfg)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	// Log out even when the operation failed: a BMC has few sessions.
	defer c.Close(ctx)
	if cmd == "status" {
		st, err := c.PowerState(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, st)
		return nil
	}
	if err := power.Action(cmd).Do(ctx, c); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s: %s: done\n", chosen.name, target, cmd)
	return nil
}
