package boot_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/boot"
)

func httpServer(t *testing.T) (*httptest.Server, *boot.Files, *audittest.Recorder) {
	t.Helper()
	f, _ := testRoot(t)
	rec := &audittest.Recorder{}
	mux := http.NewServeMux()
	mux.Handle("/boot/", http.StripPrefix("/boot", &boot.HTTPHandler{Files: f, Recorder: rec, Logger: slog.New(slog.DiscardHandler)}))
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s, f, rec
}

func TestHTTP(t *testing.T) {
	s, _, rec := httpServer(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	kernel := strings.Repeat("kernel", 1000)
	tests := []struct {
		method, path, rangeHdr string
		status                 int
		body                   string // "" to skip the check
		length                 string
	}{
		{"GET", "/boot/vmlinuz", "", 200, kernel, "6000"},
		{"HEAD", "/boot/vmlinuz", "", 200, "", "6000"},
		{"GET", "/boot/vmlinuz", "bytes=6-11", 206, "kernel", "6"},
		{"GET", "/boot/vmlinuz", "bytes=5990-", 206, "elkernel", "10"},
		{"GET", "/boot/vmlinuz", "bytes=9000-", 416, "", ""},
		{"GET", "/boot/memdisk.image", "", 200, "disk image", "10"},
		{"GET", "/boot/missing", "", 404, "", ""},
		{"GET", "/boot/images/", "", 404, "", ""}, // a directory: no listing, no redirect
		{"GET", "/boot/images", "", 404, "", ""},
		{"GET", "/boot/escape", "", 403, "", ""},
		{"GET", "/boot/passwd", "", 403, "", ""},
		{"GET", "/boot/%2e%2e/secret", "", 403, "", ""},
		{"GET", "/boot/..%252fsecret", "", 403, "", ""},
		{"POST", "/boot/vmlinuz", "", 405, "", ""},
		{"GET", "/boot/boot.ipxe?mac=52:54:00:00:00:07", "", 200, "kernel " + s.URL[:strings.LastIndex(s.URL, ":")] + "", ""},
		{"GET", "/boot/pxelinux.cfg/01-52-54-00-12-34-56", "", 200, "", ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, s.URL+tt.path, nil)
		if tt.rangeHdr != "" {
			req.Header.Set("Range", tt.rangeHdr)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s %s: status %d, want %d", tt.method, tt.path, tt.rangeHdr, resp.StatusCode, tt.status)
			continue
		}
		if tt.body != "" && !strings.HasPrefix(string(body), tt.body) && !strings.Contains(string(body), tt.body) {
			t.Errorf("%s %s %s: body %.40q, want %.40q", tt.method, tt.path, tt.rangeHdr, body, tt.body)
		}
		if tt.length != "" && resp.Header.Get("Content-Length") != tt.length {
			t.Errorf("%s %s %s: Content-Length %q, want %s", tt.method, tt.path, tt.rangeHdr, resp.Header.Get("Content-Length"), tt.length)
		}
		if strings.Contains(string(body), "outside the root") || strings.Contains(string(body), "root:x") {
			t.Errorf("%s: served a file outside the root", tt.path)
		}
	}
	e, ok := rec.Wait(testCtx(t), func(e audit.Event) bool { return e.Fields["file"] == "pxelinux.cfg/01-52-54-00-12-34-56" })
	if !ok || e.Package != "boot" || e.Hostname != "kiosk-01" || e.Fields["profile"] != "webkiosk" || e.Fields["status"] != 200 {
		t.Errorf("audit event %+v", e)
	}
	seen := 0
	if _, ok := rec.Wait(testCtx(t), func(e audit.Event) bool { seen++; return seen >= len(tests) }); !ok {
		t.Errorf("%d requests recorded, want %d", len(rec.Events()), len(tests))
	}
}

// TestHTTPCurl fetches with curl: whole files byte-exact, ranges, and
// path escapes refused.
func TestHTTPCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (Debian package curl); skipping")
	}
	s, f, _ := httpServer(t)
	big := make([]byte, 5<<20+3)
	for i := range big {
		big[i] = byte(i * 31)
	}
	must(t, os.WriteFile(filepath.Join(f.Root, "big.bin"), big, 0o644))
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		args []string
		want []byte
		fail bool
	}{
		{[]string{s.URL + "/boot/big.bin"}, big, false},
		{[]string{"-r", "1000-1999", s.URL + "/boot/big.bin"}, big[1000:2000], false},
		{[]string{"-r", "-100", s.URL + "/boot/big.bin"}, big[len(big)-100:], false},
		{[]string{"-C", "4096", s.URL + "/boot/big.bin"}, nil, false}, // resume: the rest after 4096
		// net/http.ServeMux answers this one itself with a redirect to
		// /secret, outside /boot/, before the handler sees it.
		{[]string{"--path-as-is", "-L", s.URL + "/boot/../secret"}, nil, true},
		{[]string{s.URL + "/boot/%2e%2e/secret"}, nil, true},
		{[]string{s.URL + "/boot/escape"}, nil, true},
	}
	for _, tt := range tests {
		os.Remove(out)
		args := append([]string{"-sS", "-f", "-o", out}, tt.args...)
		msg, err := exec.CommandContext(ctx, curl, args...).CombinedOutput()
		got, _ := os.ReadFile(out)
		if tt.fail {
			if err == nil || bytes.Contains(got, []byte("outside the root")) {
				t.Errorf("curl %v: succeeded with %q", tt.args, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("curl %v: %v %s", tt.args, err, msg)
			continue
		}
		if tt.want == nil { // -C 4096 on a fresh file asks for bytes 4096-
			tt.want = big[4096:]
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("curl %v: %d bytes, want %d, not identical", tt.args, len(got), len(tt.want))
		}
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
