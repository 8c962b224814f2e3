package boot_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/pxelator/pxelator/boot"
)

// BenchmarkHTTP fetches a 64 MiB kernel over loopback from boot.HTTPHandler
// and, for comparison, from net/http.FileServer.
func BenchmarkHTTP(b *testing.B) {
	dir := b.TempDir()
	const size = 64 << 20
	f, err := os.Create(filepath.Join(dir, "vmlinuz"))
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for _, tt := range []struct {
		name string
		h    http.Handler
	}{
		{"boot.HTTPHandler", &boot.HTTPHandler{Files: &boot.Files{Root: dir}, Logger: slog.New(slog.DiscardHandler)}},
		{"http.FileServer", http.FileServer(http.Dir(dir))},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := httptest.NewServer(tt.h)
			defer s.Close()
			b.SetBytes(size)
			for b.Loop() {
				resp, err := http.Get(s.URL + "/vmlinuz")
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != size {
					b.Fatalf("%d bytes, %v", n, err)
				}
			}
		})
	}
}
