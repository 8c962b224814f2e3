package main

import (
	"context"
	"flag"
	"fmt"
	"net"

	"github.com/pxelator/pxelator/internal/serve"
	"github.com/pxelator/pxelator/syslogd"
)

// syslogSettings are the flags of the syslog receiver, which records
// every line in the audit store, tied to the machine that sent it.
type syslogSettings struct {
	addr listenAddr
}

func (s *syslogSettings) register(fs *flag.FlagSet) {
	s.addr = listenAddr{addr: syslogd.DefaultAddr}
	fs.Var(&s.addr, "syslog", "receive syslog over UDP and TCP on `ADDR:PORT` (DHCP option 7 points at it), or off")
}

func (s *syslogSettings) resolve(*settings) error { return nil }

func (s *syslogSettings) describe(*settings) string {
	if !s.addr.on() {
		return ""
	}
	return fmt.Sprintf("syslog on %s (UDP and TCP), every line into the audit", s.addr.addr)
}

// newSyslog builds the syslog receiver.
func newSyslog(set *settings, d deps) ([]*service, error) {
	s := &set.syslog
	if !s.addr.on() {
		return nil, nil
	}
	srv := &syslogd.Server{Store: d.store, Handler: syslogd.AuditHandler(d.audit, nil), Logger: d.log}
	d.register(syslogMetrics(srv))
	var pcs []net.PacketConn
	var l net.Listener
	return []*service{{
		name: "syslog",
		listen: func() (string, error) {
			var err error
			if pcs, l, err = serve.Listen(s.addr.addr, 1); err != nil {
				return "", listenError("syslog", s.addr.addr, err)
			}
			return pcs[0].LocalAddr().String(), nil
		},
		serve: func() error {
			return serverErr(serve.ServeBoth(pcs, l, srv.ServePacket, srv.Serve, syslogd.ErrServerClosed), syslogd.ErrServerClosed)
		},
		stop: func(ctx context.Context) error {
			defer closeQuietly(append(closers(pcs), l)...) // when Serve never ran
			err := srv.Shutdown(ctx)
			st := srv.Stats()
			d.log.Info("syslog: stopped", "messages", st.Messages, "malformed", st.Malformed,
				"truncated", st.Truncated, "udp_dropped", st.UDPDropped, "refused", st.ConnsRefused, "timeouts", st.Timeouts)
			return err
		},
	}}, nil
}
