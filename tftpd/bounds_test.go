package tftpd_test

import (
	"encoding/binary"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/tftpd"
	"github.com/pxelator/pxelator/tftpd/tftptest"
)

// rrq is a read request for file with options, name and value in turn.
func rrq(file string, opts ...string) []byte {
	b := []byte{0, 1}
	for _, f := range append([]string{file, "octet"}, opts...) {
		b = append(append(b, f...), 0)
	}
	return b
}

// oackOptions returns the options of an OACK packet, or nil when it is
// not one.
func oackOptions(pkt []byte) map[string]string {
	if len(pkt) < 2 || binary.BigEndian.Uint16(pkt) != 6 {
		return nil
	}
	fields := strings.Split(strings.TrimSuffix(string(pkt[2:]), "\x00"), "\x00")
	opts := map[string]string{}
	for i := 0; i+1 < len(fields); i += 2 {
		opts[fields[i]] = fields[i+1]
	}
	return opts
}

// errorPacket ends a transfer from the client's side.
var errorPacket = []byte{0, 5, 0, 0, 'b', 'y', 'e', 0}

// TestClientTimeoutCapped: a client may not make the server wait for it
// longer than MaxClientTimeout per packet: a timeout above it is left out
// of the OACK (RFC 2349 lets the server take the option or leave it),
// one within it is taken.
func TestClientTimeoutCapped(t *testing.T) {
	root, _ := bootRoot(t)
	s, _ := startServer(t, tftpd.FileServer(root))
	addr := net.UDPAddrFromAddrPort(s.Addr)
	for _, tt := range []struct {
		timeout, want string
	}{
		{"255", ""},
		{"11", ""},
		{"10", "10"},
		{"3", "3"},
	} {
		opts := oackOptions(raw(t, addr, rrq("pxelinux.0", "timeout", tt.timeout, "tsize", "0")))
		if opts == nil || opts["timeout"] != tt.want || opts["tsize"] == "" {
			t.Errorf("timeout %s: OACK %v, want timeout %q and tsize", tt.timeout, opts, tt.want)
		}
	}
}

// TestSilentClientsHoldLittle: requests from addresses that never
// acknowledge (forged, or silent) cost the server little memory: the
// window buffers and the read buffer of a transfer are made only after
// the client's first ACK. 200 requests for the largest window held
// 64 MiB before.
func TestSilentClientsHoldLittle(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "big.bin"), make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	s := tftptest.NewUnstartedServer(tftpd.FileServer(root))
	s.Config.Logger = slog.New(slog.DiscardHandler)
	s.Config.Timeout = time.Minute // the transfers wait for their ACK while the heap is measured
	s.Config.Retries = 1
	s.Start()
	t.Cleanup(s.Close)
	addr := net.UDPAddrFromAddrPort(s.Addr)

	const n = 200
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var ends []func()
	for i := range n {
		c := clientSocket(t) // a client address of its own: a transfer of its own
		if _, err := c.WriteToUDP(rrq("big.bin", "blksize", "65464", "windowsize", "64", "tsize", "0"), addr); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 512)
		k, from, err := c.ReadFromUDP(buf)
		if err != nil || oackOptions(buf[:k]) == nil {
			t.Fatalf("request %d: no OACK: %v %q", i, err, buf[:k])
		}
		ends = append(ends, func() { c.WriteToUDP(errorPacket, from) })
	}
	defer func() {
		for _, end := range ends {
			end()
		}
	}()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d transfers waiting for their first ACK: heap grew %d KiB (%d bytes each)", n, grown>>10, grown/n)
	if grown > 16<<20 {
		t.Errorf("%d silent clients hold %d MiB of heap, want under 16 MiB", n, grown>>20)
	}
}
