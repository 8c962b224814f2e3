package boot

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// HTTPHandler is the http.Handler of a boot root, for iPXE and UEFI HTTP
// boot: the same static files and per-machine configurations as over
// TFTP, with Content-Length, range requests and conditional requests, and
// never a redirect. Only GET and HEAD are allowed.
//
// The file name is the request path without its leading slash, so an
// HTTPHandler is mounted under a prefix with http.StripPrefix; the
// reference server mounts it at /boot/:
//
//	mux.Handle("/boot/", http.StripPrefix("/boot", h))
//
// For boot.ipxe a query parameter mac=${net0/mac} names the machine, so
// that iPXE behind a relay or NAT still gets its own script, and
// profile=NAME renders the script of that profile instead of the
// machine's own (the default profile's menu links them so).
type HTTPHandler struct {
	// Files is the boot root served.
	Files *Files
	// Recorder, if not nil, records every request: client, file, status,
	// bytes, range and duration.
	Recorder audit.Recorder
	// Logger receives one line per request; nil means slog.Default().
	Logger *slog.Logger
}

// ServeHTTP implements http.Handler.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	req := Request{Name: r.URL.Path, Client: remoteAddr(r)}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ta, ok := la.(*net.TCPAddr); ok {
			req.Server = ta.AddrPort().Addr().Unmap()
		}
	}
	q := r.URL.Query()
	if s := q.Get("mac"); s != "" {
		if mac, err := pxelator.ParseMAC(s); err == nil {
			req.MAC = mac
		}
	}
	req.Profile = q.Get("profile")
	f, err := h.serve(cw, r, req)
	h.record(r, req, f, cw, time.Since(start), err)
}

func (h *HTTPHandler) serve(w *countingWriter, r *http.Request, req Request) (*File, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil, nil
	}
	f, err := h.Files.Open(r.Context(), req)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		http.Error(w, "404 file not found", http.StatusNotFound)
		return nil, err
	case errors.Is(err, fs.ErrPermission):
		http.Error(w, "403 access denied", http.StatusForbidden)
		return nil, err
	case err != nil:
		http.Error(w, "500 internal error", http.StatusInternalServerError)
		return nil, err
	}
	defer f.Close()
	if f.Machine != nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
	}
	http.ServeContent(w, r, f.Name, f.ModTime, f.Content)
	return f, nil
}

func (h *HTTPHandler) record(r *http.Request, req Request, f *File, w *countingWriter, d time.Duration, err error) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	attrs := []any{"client", req.Client, "method", r.Method, "path", r.URL.Path, "status", w.status, "bytes", w.n, "duration", d}
	if rg := r.Header.Get("Range"); rg != "" {
		attrs = append(attrs, "range", rg)
	}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	log.Info("boot: http", attrs...)
	if h.Recorder == nil {
		return
	}
	e := audit.Event{Package: "boot", Action: "http", IP: req.Client, Fields: map[string]any{
		"method": r.Method, "file": strings.TrimPrefix(r.URL.Path, "/"), "status": w.status,
		"bytes": w.n, "duration_ms": d.Milliseconds(),
	}}
	if rg := r.Header.Get("Range"); rg != "" {
		e.Fields["range"] = rg
	}
	if f != nil && f.Machine != nil {
		e.MAC, e.Hostname = f.Machine.MAC, f.Machine.Hostname
		e.Fields["profile"] = f.Profile
	}
	if err != nil {
		e.Fields["error"] = err.Error()
	}
	audit.Record(context.Background(), h.Recorder, e)
}

func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// countingWriter remembers the status and counts the body bytes. It
// passes ReadFrom through so that static files still go out with
// sendfile.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (w *countingWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	n, err := io.Copy(w.ResponseWriter, r)
	w.n += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
