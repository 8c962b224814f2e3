package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/monitor"
	"github.com/pxelator/pxelator/power"
	"github.com/pxelator/pxelator/schedule"
	"github.com/pxelator/pxelator/web"
)

// webSettings are the flags of the web overview, served at / of the HTTP
// server beside /boot/.
type webSettings struct {
	tokenFile string         // -web-token
	networks  string         // -web-networks
	readNets  []netip.Prefix // parsed networks
}

func (s *webSettings) register(fs *flag.FlagSet) {
	fs.StringVar(&s.tokenFile, "web-token", "", "`FILE` holding the login of the web page and API (default <state>/web.token, made with a random token at the first start)")
	fs.StringVar(&s.networks, "web-networks", "", "comma-separated `PREFIXES` that may read the web page without a login, besides loopback")
}

func (s *webSettings) resolve(set *settings) error {
	if s.tokenFile == "" {
		s.tokenFile = filepath.Join(set.state, "web.token")
	}
	nets, err := parsePrefixes(s.networks)
	if err != nil {
		return fmt.Errorf("-web-networks %q: %w", s.networks, err)
	}
	s.readNets = nets
	return nil
}

func (s *webSettings) describe(set *settings) string {
	if !set.boot.http.on() {
		return ""
	}
	readers := "loopback"
	for _, p := range s.readNets {
		readers += ", " + p.String()
	}
	return fmt.Sprintf("web overview, API and /metrics at %s: read from %s, changes with the token in %s", webURL(set), readers, s.tokenFile)
}

// webToken returns the login token from the -web-token file. When the
// file does not exist, it writes a random token to it (mode 0600) and
// prints it to out, the one time it is shown.
func webToken(path string, out io.Writer) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if tok == "" || strings.ContainsAny(tok, "\r\n") {
			return "", fmt.Errorf("-web-token %s: want one line holding the token", path)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("-web-token %s: mode %v lets others read the token; chmod 600 it", path, fi.Mode().Perm())
		}
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("-web-token: %w", err)
	}
	var raw [32]byte
	rand.Read(raw[:])
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("-web-token: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("-web-token: %w", err)
	}
	_, err = fmt.Fprintln(f, tok)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("-web-token: writing %s: %w", path, err)
	}
	fmt.Fprintf(out, "pxelator: the web login token, shown this once and kept in %s (mode 0600): %s\n", path, tok)
	return tok, nil
}

// newWeb returns the web handler served at / of the HTTP server, or nil
// when HTTP is off. It registers the handler's own metrics. The scheduler
// and the monitor, built with the services, set its Schedule and Monitor.
func newWeb(set *settings, d deps, out io.Writer) (*web.Handler, error) {
	if !set.boot.http.on() {
		return nil, nil
	}
	tok, err := webToken(set.web.tokenFile, out)
	if err != nil {
		return nil, err
	}
	h := &web.Handler{
		Store:        d.store,
		Audit:        d.query,
		Recorder:     d.audit,
		Power:        power.Switcher{Config: set.power.config(d)},
		Profiles:     func() []string { return profileNames(set.boot.profiles) },
		Token:        tok,
		ReadNetworks: set.web.readNets,
		Logger:       d.log,
	}
	if d.metrics != nil {
		h.Metrics = d.metrics
		d.metrics.MustRegister(h)
	}
	return h, nil
}

// profileNames lists the boot profiles: the directories of -profiles and
// the embedded defaults.
func profileNames(dir string) []string {
	var names []string
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				names = append(names, e.Name())
			}
		}
	}
	if ents, err := fs.ReadDir(boot.DefaultProfiles(), "."); err == nil {
		for _, e := range ents {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// webPower opens the controller of m for a power action of the web page:
// the machine's own backend, and Wake-on-LAN for "wake" even to a machine
// webMonitor tells the web page what the monitor knows of a machine.
type webMonitor struct{ mon *monitor.Monitor }

func (w webMonitor) Status(m pxelator.Machine) (web.Status, bool) {
	st, ok := w.mon.Status(m.IP)
	if !ok || st.State == monitor.Unknown {
		return web.Status{}, false
	}
	return web.Status{Up: st.State == monitor.Up, Expected: st.Expected, Since: st.Since, RTT: st.RTT, LastReply: st.LastReply}, true
}

// webSchedule tells the web page a machine's kiosk schedule.
type webSchedule struct{ sched *schedule.Scheduler }

func (w webSchedule) Plan(m pxelator.Machine) (web.Plan, bool) {
	p, ok := w.sched.Plan(m.MAC)
	if !ok {
		return web.Plan{}, false
	}
	wp := web.Plan{Schedule: p.Schedule.String(), NextOn: p.NextOn, NextOff: p.NextOff}
	if p.Err != nil {
		wp.Error = p.Err.Error()
	}
	return wp, true
}

// webURL is where the overview is, for the start-up lines.
func webURL(set *settings) string {
	host, port, err := net.SplitHostPort(set.boot.http.addr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = set.serverIP.String()
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}
