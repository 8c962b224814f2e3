package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/net/netutil"

	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/tftpd"
)

// bootSettings are the flags of the boot services: the boot root and the
// per-machine boot configurations over TFTP (-tftp) and over HTTP under
// /boot/ (-http).
type bootSettings struct {
	tftp, http     listenAddr
	root, profiles string
	fill           bool

	copied []string // what newBoot copied into the root, for the start-up lines
}

// HTTP server bounds: a client gets this long to send its request
// headers and body, an idle keep-alive connection is closed after
// httpIdleTimeout, one response may take httpWriteTimeout (a live
// system's image over a slow link), and at most httpMaxConns
// connections are open at once.
const (
	httpReadTimeout  = 30 * time.Second
	httpIdleTimeout  = 60 * time.Second
	httpWriteTimeout = 30 * time.Minute
	httpMaxConns     = 1024
)

func (s *bootSettings) register(fs *flag.FlagSet) {
	s.tftp = listenAddr{addr: ":69"}
	s.http = listenAddr{addr: ":80"}
	fs.Var(&s.tftp, "tftp", "serve TFTP on `ADDR:PORT`, or off")
	fs.Var(&s.http, "http", "serve HTTP (boot files under /boot/) on `ADDR:PORT`, or off")
	fs.StringVar(&s.root, "root", "./tftpboot", "boot files `DIR` served over TFTP and HTTP")
	fs.StringVar(&s.profiles, "profiles", "./profiles", "boot profile templates `DIR`: DIR/<profile>/{pxelinux.cfg,grub.cfg,boot.ipxe}; an empty one gets the embedded profiles")
	fs.BoolVar(&s.fill, "fill-root", true, "copy into -root the boot loaders it lacks from this system's packages (ipxe, pxelinux, syslinux-common, grub-efi-amd64-signed, shim-signed); never replaces a file")
}

func (s *bootSettings) resolve(*settings) error {
	if s.root == "" || s.profiles == "" {
		return fmt.Errorf("-root and -profiles need a directory")
	}
	return nil
}

// describe says where the boot files are and, from what the root holds
// once newBoot filled it, which kinds of client boot and which cannot.
func (s *bootSettings) describe(set *settings) string {
	if !s.tftp.on() && !s.http.on() {
		return ""
	}
	lines := []string{fmt.Sprintf("boot files from %s, profiles from %s: TFTP on %s, HTTP on %s", s.root, s.profiles, s.tftp.String(), s.http.String())}
	table := set.dhcp.cfg.Boot
	if table == nil { // DHCP is off: say what the default table would give
		table = dhcpd.DefaultBootTable()
	}
	c := bootCheck{root: s.root, table: table, server: set.serverIP, tftpOn: s.tftp.on(), httpOn: s.http.on(), httpBase: set.httpBase()}
	lines = append(lines, describeRoot(c, s.copied)...)
	return strings.Join(lines, "\n")
}

// httpBase is the URL of the HTTP boot root as templates and DHCP give it
// ("{server}" stands for the address the client reached), or "" when HTTP
// is off.
func (set *settings) httpBase() string {
	if !set.boot.http.on() {
		return ""
	}
	return httpBase(set.boot.http.addr)
}

// httpBase is the URL templates use for HTTP boot, given -http.
func httpBase(httpAddr string) string {
	_, port, err := net.SplitHostPort(httpAddr)
	if err != nil || port == "" || port == "80" {
		return "http://{server}/boot/"
	}
	return "http://{server}:" + port + "/boot/"
}

// newBoot builds the TFTP and HTTP services over one boot root. A missing
// root or profiles directory is created, and an empty profiles directory
// gets the embedded default templates to edit.
func newBoot(set *settings, d deps) ([]*service, error) {
	s := &set.boot
	if !s.tftp.on() && !s.http.on() {
		return nil, nil
	}
	if err := prepareBootDirs(s.root, s.profiles); err != nil {
		return nil, err
	}
	if s.fill {
		copied, err := fillRoot(s.root, boot.Loaders())
		if err != nil {
			d.log.Warn("boot: could not copy every boot loader into the root", "root", s.root, "err", err)
		}
		s.copied = copied
	}
	files := &boot.Files{Root: s.root, Profiles: s.profiles, Store: d.store, HTTPBase: set.httpBase(), Logger: d.log}
	var svcs []*service
	if s.tftp.on() {
		srv := &tftpd.Server{Handler: tftpd.OpenerHandler(files), Recorder: d.audit, Logger: d.log}
		d.register(tftpMetrics(srv))
		var conn net.PacketConn
		svcs = append(svcs, &service{
			name: "tftp",
			listen: func() (string, error) {
				c, err := net.ListenPacket("udp4", s.tftp.addr)
				if err != nil {
					return "", listenError("tftp", s.tftp.addr, err)
				}
				conn = c
				return c.LocalAddr().String(), nil
			},
			serve: func() error { return serverErr(srv.ServePacket(conn), tftpd.ErrServerClosed) },
			stop: func(ctx context.Context) error {
				defer closeQuietly(conn) // when Serve never ran
				return srv.Shutdown(ctx)
			},
		})
	}
	if s.http.on() {
		mux := http.NewServeMux()
		mux.Handle("/boot/", http.StripPrefix("/boot", &boot.HTTPHandler{Files: files, Recorder: d.audit, Logger: d.log}))
		if d.web != nil {
			mux.Handle("/", d.web) // web.go
		}
		srv := &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: httpReadTimeout,
			ReadTimeout:       httpReadTimeout,
			WriteTimeout:      httpWriteTimeout,
			IdleTimeout:       httpIdleTimeout,
		}
		var ln net.Listener
		svcs = append(svcs, &service{
			name: "http",
			listen: func() (string, error) {
				l, err := net.Listen("tcp", s.http.addr)
				if err != nil {
					return "", listenError("http", s.http.addr, err)
				}
				ln = netutil.LimitListener(l, httpMaxConns)
				return l.Addr().String(), nil
			},
			serve: func() error { return serverErr(srv.Serve(ln), http.ErrServerClosed) },
			stop: func(ctx context.Context) error {
				defer closeQuietly(ln) // when Serve never ran
				return srv.Shutdown(ctx)
			},
		})
	}
	return svcs, nil
}

// prepareBootDirs creates the boot root and the profiles directory when
// they are missing, and fills an empty profiles directory with the
// embedded default templates.
func prepareBootDirs(root, profiles string) error {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("boot root: %w", err)
	}
	if err := os.MkdirAll(profiles, 0o755); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	ents, err := os.ReadDir(profiles)
	if err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	if len(ents) == 0 {
		if err := os.CopyFS(profiles, boot.DefaultProfiles()); err != nil {
			return fmt.Errorf("profiles: writing the defaults: %w", err)
		}
	}
	return nil
}
