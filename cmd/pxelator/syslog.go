package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"

	"github.com/pxelator/pxelator/syslogd"
)

// syslogService receives syslog over UDP and TCP on -syslog and records
// every line in the audit store, tied to the machine that sent it.
func syslogService() *service {
	var addr string
	return &service{
		name: "syslog",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&addr, "syslog", syslogd.DefaultAddr, "receive syslog over UDP and TCP on `ADDR:PORT` (\"\" to disable)")
		},
		start: func(ctx context.Context, st *stack) (func(context.Context) error, error) {
			if addr == "" {
				return nil, nil
			}
			pc, err := net.ListenPacket("udp", addr)
			if err != nil {
				return nil, fmt.Errorf("syslog: %w", err)
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				pc.Close()
				return nil, fmt.Errorf("syslog: %w", err)
			}
			srv := &syslogd.Server{
				Store:   st.store,
				Handler: syslogd.AuditHandler(st.audit, nil),
				Logger:  st.log,
			}
			serve := func(what string, f func() error) {
				if err := f(); err != nil && !errors.Is(err, syslogd.ErrServerClosed) {
					st.log.Error("syslog: serving stopped", "on", what, "err", err)
				}
			}
			go serve("udp "+pc.LocalAddr().String(), func() error { return srv.ServePacket(pc) })
			go serve("tcp "+l.Addr().String(), func() error { return srv.Serve(l) })
			st.log.Info("syslog: listening", "udp", pc.LocalAddr().String(), "tcp", l.Addr().String())
			return func(ctx context.Context) error {
				err := srv.Shutdown(ctx)
				s := srv.Stats()
				st.log.Info("syslog: stopped", "messages", s.Messages, "malformed", s.Malformed,
					"truncated", s.Truncated, "udp_dropped", s.UDPDropped, "refused", s.ConnsRefused, "timeouts", s.Timeouts)
				return err
			}, nil
		},
	}
}
