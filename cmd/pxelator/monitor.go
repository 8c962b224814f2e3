package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/pxelator/pxelator/monitor"
)

// monitorSettings are the flags of the monitor, which pings every
// machine and alerts when one goes down.
type monitorSettings struct {
	interval interval
	down     int
	alertCmd string
	alertURL string

	// Resolved from the flags.
	alerter monitor.Alerter
}

func (s *monitorSettings) register(fs *flag.FlagSet) {
	s.interval = interval{d: 10 * time.Second}
	fs.Var(&s.interval, "ping", "ping every machine every `INTERVAL` (one ICMP socket: root, CAP_NET_RAW or net.ipv4.ping_group_range), or off")
	fs.IntVar(&s.down, "ping-down", 3, "a machine that misses `N` pings in a row is down")
	fs.StringVar(&s.alertCmd, "alert-cmd", "", "run the shell `COMMAND` when a machine goes down or comes back (PXELATOR_STATE, PXELATOR_IP, PXELATOR_MAC, PXELATOR_HOSTNAME... in its environment)")
	fs.StringVar(&s.alertURL, "alert-url", "", "post each alert as JSON to `URL`")
}

func (s *monitorSettings) resolve(*settings) error {
	if !s.interval.on() {
		return nil
	}
	if s.down < 1 {
		return errors.New("-ping-down: want 1 or more")
	}
	var alerters []monitor.Alerter
	if s.alertCmd != "" {
		alerters = append(alerters, monitor.Command(s.alertCmd))
	}
	if s.alertURL != "" {
		a, err := monitor.Webhook(s.alertURL, nil)
		if err != nil {
			return fmt.Errorf("-alert-url: %w", err)
		}
		alerters = append(alerters, a)
	}
	if len(alerters) > 0 {
		s.alerter = monitor.Alerters(alerters...)
	}
	return nil
}

func (s *monitorSettings) describe(*settings) string {
	if !s.interval.on() {
		return ""
	}
	var to []string
	if s.alertCmd != "" {
		to = append(to, "a command")
	}
	if s.alertURL != "" {
		to = append(to, "a webhook")
	}
	alerts := "alerts to the log only"
	if to != nil {
		alerts = "alerts to " + strings.Join(to, " and ")
	}
	return fmt.Sprintf("ping every machine every %v, down after %d misses; %s", s.interval.d, s.down, alerts)
}

// newScheduleAndMonitor builds the scheduler and the monitor together:
// the monitor asks the scheduler which machines are expected down.
func newScheduleAndMonitor(set *settings, d deps) ([]*service, error) {
	sched, svcs, err := newSchedule(set, d)
	if err != nil {
		return nil, err
	}
	var exp monitor.Expecter
	if sched != nil {
		exp = sched
		if d.web != nil {
			d.web.Schedule = webSchedule{sched} // web.go
		}
	}
	mon, err := newMonitor(set, d, exp)
	if err != nil {
		if sched != nil {
			sched.Close()
		}
		return nil, err
	}
	return append(svcs, mon...), nil
}

// newMonitor builds the monitor; exp, when not nil, says which machines
// are expected down.
func newMonitor(set *settings, d deps, exp monitor.Expecter) ([]*service, error) {
	s := &set.monitor
	if !s.interval.on() {
		return nil, nil
	}
	mon := monitor.New(d.store, &monitor.Options{
		Interval:  s.interval.d,
		DownAfter: s.down,
		Expected:  exp,
		Alerter:   s.alerter,
		Recorder:  d.audit,
		Logger:    d.log,
	})
	if d.web != nil {
		d.web.Monitor = webMonitor{mon} // web.go
	}
	var conn *monitor.ICMPConn
	listen := func() (string, error) {
		var err error
		if conn, err = monitor.Listen(""); err != nil {
			return "", fmt.Errorf("cannot ping (-ping): %w; run as root or with CAP_NET_RAW, or allow the server's group in the sysctl net.ipv4.ping_group_range, or give -ping off", err)
		}
		return conn.Network(), nil
	}
	return []*service{background("ping", listen, func(ctx context.Context) error {
		return mon.Run(ctx, conn)
	}, func() {
		if conn != nil {
			conn.Close()
		}
	})}, nil
}
