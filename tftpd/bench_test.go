package tftpd_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/pin/tftp/v3"

	"github.com/pxelator/pxelator/tftpd"
	"github.com/pxelator/pxelator/tftpd/tftptest"
)

// BenchmarkGet fetches a 4 MiB file over loopback, lockstep and with
// windows, with the scripted client of tftptest.
func BenchmarkGet(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 4<<20)
	if err := os.WriteFile(filepath.Join(dir, "kernel"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	s := tftptest.NewUnstartedServer(tftpd.FileServer(dir))
	s.Config.Logger = slog.New(slog.DiscardHandler)
	s.Start()
	defer s.Close()
	for _, opts := range []map[string]string{
		{"blksize": "1468"},
		{"blksize": "1468", "windowsize": "16"},
	} {
		b.Run(fmt.Sprintf("windowsize=%s", opts["windowsize"]), func(b *testing.B) {
			c := &tftptest.Client{Options: opts}
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, err := c.Get(context.Background(), s.Addr, "kernel"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("pin-tftp-client", func(b *testing.B) {
		c, err := tftp.NewClient(s.Addr.String())
		if err != nil {
			b.Fatal(err)
		}
		c.SetBlockSize(1468)
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			wt, err := c.Receive("kernel", "octet")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := wt.WriteTo(discard{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
