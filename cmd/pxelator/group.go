package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// service is one part of the reference server, built from the settings
// by newServices. A service is started in two steps, so that the group
// either starts whole or not at all: listen opens its sockets, serve
// serves on them until stop. stop is called once, whether serve ran or
// not (then it only closes the sockets).
type service struct {
	name   string
	listen func() (addr string, err error) // nil: nothing to open; addr is where it listens
	serve  func() error                    // nil once stopped, or why serving failed
	stop   func(ctx context.Context) error // stops serve, or closes what listen opened
}

// newServices builds every service the settings turn on. Nothing is
// opened yet.
func newServices(set *settings, d deps) ([]*service, error) {
	var svcs []*service
	for _, build := range []func(*settings, deps) ([]*service, error){
		newDHCP, newBoot, newDNS, newSyslog, newPower, newScheduleAndMonitor,
	} {
		s, err := build(set, d)
		if err != nil {
			return nil, err
		}
		svcs = append(svcs, s...)
	}
	return svcs, nil
}

// runGroup opens the sockets of every service, calls ready with the
// addresses they listen on ("name=addr"), serves until ctx is done or a
// service fails, and then stops them all, allowing them timeout
// together. A socket that cannot be opened stops the start before
// anything serves.
func runGroup(ctx context.Context, svcs []*service, ready func(listening []string), timeout time.Duration) error {
	stopAll := func(svcs []*service) error {
		shut, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var errs []error
		for i := len(svcs) - 1; i >= 0; i-- {
			if err := svcs[i].stop(shut); err != nil {
				errs = append(errs, fmt.Errorf("%s: stopping: %w", svcs[i].name, err))
			}
		}
		return errors.Join(errs...)
	}
	var listening []string
	for i, s := range svcs {
		if s.listen == nil {
			continue
		}
		addr, err := s.listen()
		if err != nil {
			return errors.Join(fmt.Errorf("%s: %w", s.name, err), stopAll(svcs[:i]))
		}
		listening = append(listening, s.name+"="+addr)
	}
	ready(listening)
	failed := make(chan error, len(svcs))
	for _, s := range svcs {
		go func() {
			if err := s.serve(); err != nil {
				failed <- fmt.Errorf("%s: %w", s.name, err)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-failed:
	}
	return errors.Join(err, stopAll(svcs))
}

// listenError explains why a socket could not be opened, and the fix, in
// one line.
func listenError(flagName, addr string, err error) error {
	var hint string
	switch {
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		hint = "ports below 1024 need root or CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep on the binary); or give -" + flagName + " a port above 1023, or off"
	case errors.Is(err, syscall.EADDRINUSE):
		hint = "another program holds it (ss -lunp and ss -ltnp say which: dnsmasq, systemd-resolved, a TFTP daemon...); stop it, or give -" + flagName + " another address, or off"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		hint = "no interface of this host has that address; give -" + flagName + " one it has, or off"
	default:
		hint = "give -" + flagName + " another address, or off"
	}
	return fmt.Errorf("cannot listen on %s (-%s): %w; %s", addr, flagName, err, hint)
}

// closeQuietly closes what is not nil, for sockets a service opened but
// may not have served: their servers close them otherwise.
// closers returns pcs as io.Closers, for closeQuietly.
func closers(pcs []net.PacketConn) []io.Closer {
	cs := make([]io.Closer, len(pcs))
	for i, pc := range pcs {
		cs[i] = pc
	}
	return cs
}

func closeQuietly(cs ...io.Closer) {
	for _, c := range cs {
		if c != nil {
			c.Close()
		}
	}
}
