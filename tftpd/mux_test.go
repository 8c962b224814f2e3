package tftpd_test

import (
	"context"
	"testing"

	"github.com/pxelator/pxelator/tftpd"
)

func TestServeMux(t *testing.T) {
	mux := tftpd.NewServeMux()
	named := func(name string) tftpd.Handler {
		return tftpd.HandlerFunc(func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) { w.WriteError(0, name) })
	}
	for _, p := range []string{"pxelinux.0", "pxelinux.cfg/", "pxelinux.cfg/default", "*.efi", "efi/*.efi", "efi/"} {
		if err := mux.Handle(p, named(p)); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"", "pxelinux.0", "/pxelinux.0", "[", "efi/"} {
		if err := mux.Handle(bad, named(bad)); err == nil {
			t.Errorf("Handle(%q): no error", bad)
		}
	}
	if err := mux.Handle("x", nil); err == nil {
		t.Errorf("Handle with a nil handler: no error")
	}
	tests := map[string]string{
		"pxelinux.0":           "pxelinux.0",
		"/pxelinux.0":          "pxelinux.0",
		"pxelinux.cfg/default": "pxelinux.cfg/default",
		"pxelinux.cfg/01-aa":   "pxelinux.cfg/",
		"ipxe.efi":             "*.efi",
		"efi/shim.efi":         "efi/*.efi", // longer than "efi/"
		"efi/grub.cfg":         "efi/",
		"other":                "",
		"pxelinux.cfg":         "",
		"sub/ipxe.efi":         "", // path.Match's * stops at a slash
	}
	for name, want := range tests {
		h := mux.Handler(name)
		got := ""
		if h != nil {
			w := &errWriter{}
			h.ServeTFTP(context.Background(), w, &tftpd.Request{Filename: name})
			got = w.msg
		}
		if got != want {
			t.Errorf("Handler(%q) is %q, want %q", name, got, want)
		}
	}
}

type errWriter struct{ msg string }

func (w *errWriter) Write(p []byte) (int, error)                 { return len(p), nil }
func (w *errWriter) SetSize(int64)                               {}
func (w *errWriter) WriteError(code tftpd.ErrorCode, msg string) { w.msg = msg }
