package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/tftpd"
)

// bootService serves the boot root and the per-machine boot
// configurations over TFTP (-tftp) and over HTTP under /boot/ (-http).
// A missing root or profiles directory is created, and an empty profiles
// directory gets the embedded default templates to edit.
func bootService() *service {
	var tftpAddr, httpAddr, root, profiles string
	return &service{
		name: "boot",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&tftpAddr, "tftp", ":69", "serve TFTP on `ADDR:PORT` (empty: no TFTP)")
			fs.StringVar(&httpAddr, "http", ":80", "serve HTTP boot under /boot/ on `ADDR:PORT` (empty: no HTTP)")
			fs.StringVar(&root, "root", "./tftpboot", "boot files `DIR` served over TFTP and HTTP")
			fs.StringVar(&profiles, "profiles", "./profiles", "boot profile templates `DIR`: DIR/<profile>/{pxelinux.cfg,grub.cfg,boot.ipxe}")
		},
		start: func(ctx context.Context, st *stack) (func(context.Context) error, error) {
			if err := prepareBootDirs(root, profiles); err != nil {
				return nil, err
			}
			files := &boot.Files{Root: root, Profiles: profiles, Store: st.store, HTTPBase: httpBase(httpAddr)}
			var stops []func(context.Context) error
			stop := func(ctx context.Context) error {
				var errs []error
				for _, s := range stops {
					errs = append(errs, s(ctx))
				}
				return errors.Join(errs...)
			}
			if tftpAddr != "" {
				conn, err := net.ListenPacket("udp4", tftpAddr)
				if err != nil {
					return nil, fmt.Errorf("tftp: %w", err)
				}
				srv := &tftpd.Server{Handler: tftpd.OpenerHandler(files), Recorder: st.audit, Logger: st.log}
				go func() {
					if err := srv.ServePacket(conn); err != nil && !errors.Is(err, tftpd.ErrServerClosed) {
						st.log.Error("tftpd stopped", "err", err)
					}
				}()
				stops = append(stops, srv.Shutdown)
				st.log.Info("boot: serving TFTP", "addr", conn.LocalAddr(), "root", root, "profiles", profiles)
			}
			if httpAddr != "" {
				ln, err := net.Listen("tcp", httpAddr)
				if err != nil {
					stop(ctx)
					return nil, fmt.Errorf("http: %w", err)
				}
				// The web page of a later issue shares this server: it
				// adds its handlers to mux.
				mux := http.NewServeMux()
				mux.Handle("/boot/", http.StripPrefix("/boot", &boot.HTTPHandler{Files: files, Recorder: st.audit, Logger: st.log}))
				srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
				go func() {
					if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
						st.log.Error("http stopped", "err", err)
					}
				}()
				stops = append(stops, srv.Shutdown)
				st.bootURL = files.HTTPBase
				st.log.Info("boot: serving HTTP", "addr", ln.Addr(), "path", "/boot/")
			}
			return stop, nil
		},
	}
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

// httpBase is the URL templates use for HTTP boot, given -http.
func httpBase(httpAddr string) string {
	_, port, err := net.SplitHostPort(httpAddr)
	if err != nil || port == "" || port == "80" || httpAddr == "" {
		return "http://{server}/boot/"
	}
	return "http://{server}:" + port + "/boot/"
}
