package tftpd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pin/tftp/v3"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/tftpd"
	"github.com/pxelator/pxelator/tftpd/tftptest"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// waitOutcome waits for the audit event of file and returns it.
func waitOutcome(t *testing.T, rec interface {
	Wait(context.Context, func(audit.Event) bool) (audit.Event, bool)
}, file string) audit.Event {
	t.Helper()
	e, ok := rec.Wait(testCtx(t), func(e audit.Event) bool { return e.Package == "tftpd" && e.Fields["file"] == file })
	if !ok {
		t.Fatalf("no audit event for %s", file)
	}
	return e
}

func TestGetOptions(t *testing.T) {
	root, files := bootRoot(t)
	s, rec := startServer(t, tftpd.FileServer(root))
	tests := []struct {
		file string
		opts map[string]string
		oack map[string]string
	}{
		{"pxelinux.0", nil, nil},
		{"block.bin", nil, nil},
		{"empty", nil, nil},
		{"pxelinux.0", map[string]string{"tsize": "0", "blksize": "1432"}, map[string]string{"tsize": "46000", "blksize": "1432"}},
		{"exact1468.bin", map[string]string{"blksize": "1468", "windowsize": "3"}, map[string]string{"blksize": "1468", "windowsize": "3"}},
		{"sub/big.bin", map[string]string{"blksize": "1468", "windowsize": "16", "timeout": "2", "tsize": "0"},
			map[string]string{"blksize": "1468", "windowsize": "16", "timeout": "2", "tsize": strconv.Itoa(3<<20 + 7)}},
		{"sub/big.bin", map[string]string{"blksize": "65464"}, map[string]string{"blksize": "65464"}},
		{"pxelinux.0", map[string]string{"blksize": "70000", "windowsize": "1000"}, map[string]string{"blksize": "65464", "windowsize": "4"}},
		{"memdisk.image", map[string]string{"blksize": "1468", "windowsize": "8"}, map[string]string{"blksize": "1468", "windowsize": "8"}},
		{"block.bin", map[string]string{"tsize": "0", "utimeout": "1000"}, map[string]string{"tsize": "2048"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.file, tt.opts), func(t *testing.T) {
			c := &tftptest.Client{Options: tt.opts}
			got, res, err := c.Get(testCtx(t), s.Addr, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, files[tt.file]) {
				t.Fatalf("got %d bytes, want %d, not identical", len(got), len(files[tt.file]))
			}
			if fmt.Sprint(res.OACK) != fmt.Sprint(tt.oack) {
				t.Errorf("OACK %v, want %v", res.OACK, tt.oack)
			}
		})
	}
	e := waitOutcome(t, rec, "empty")
	if e.Fields["outcome"] != "ok" || e.Fields["bytes"] != int64(0) || !e.IP.IsLoopback() {
		t.Errorf("audit event %+v", e)
	}
	var size uint64
	for _, tt := range tests {
		size += uint64(len(files[tt.file]))
	}
	st := waitStats(t, s.Config, func(st tftpd.Stats) bool { return st.Sent == uint64(len(tests)) })
	if st.Bytes != size || st.Refused+st.Aborted+st.Failed != 0 {
		t.Errorf("Stats %+v, want %d sent with %d bytes", st, len(tests), size)
	}
}

// waitStats waits until the counters of s satisfy done: a transfer is
// counted once it is recorded, after its last packet.
func waitStats(t *testing.T, s *tftpd.Server, done func(tftpd.Stats) bool) tftpd.Stats {
	t.Helper()
	ctx := testCtx(t)
	for !done(s.Stats()) {
		select {
		case <-ctx.Done():
			t.Fatalf("Stats %+v", s.Stats())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return s.Stats()
}

// TestGetLibraryClient fetches files with github.com/pin/tftp's client.
func TestGetLibraryClient(t *testing.T) {
	root, files := bootRoot(t)
	s, _ := startServer(t, tftpd.FileServer(root))
	for _, blk := range []int{0, 1468, 8192} {
		c, err := tftp.NewClient(s.Addr.String())
		if err != nil {
			t.Fatal(err)
		}
		if blk > 0 {
			c.SetBlockSize(blk)
		}
		c.RequestTSize(true)
		c.SetTimeout(5 * time.Second)
		for _, name := range []string{"pxelinux.0", "sub/big.bin", "block.bin"} {
			wt, err := c.Receive(name, "octet")
			if err != nil {
				t.Fatalf("blksize %d %s: %v", blk, name, err)
			}
			if n, ok := wt.(tftp.IncomingTransfer).Size(); !ok || n != int64(len(files[name])) {
				t.Errorf("blksize %d %s: tsize %d %v, want %d", blk, name, n, ok, len(files[name]))
			}
			var buf bytes.Buffer
			if _, err := wt.WriteTo(&buf); err != nil {
				t.Fatalf("blksize %d %s: %v", blk, name, err)
			}
			if !bytes.Equal(buf.Bytes(), files[name]) {
				t.Errorf("blksize %d %s: content differs", blk, name)
			}
		}
	}
}

// TestBlockNumberWraps sends more than 65535 blocks: block numbers roll
// over to 0.
func TestBlockNumberWraps(t *testing.T) {
	want := make([]byte, 70000*8+3)
	for i := range want {
		want[i] = byte(i * 7)
	}
	h := tftpd.HandlerFunc(func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		w.SetSize(int64(len(want)))
		w.Write(want)
	})
	s, _ := startServer(t, h)
	c := &tftptest.Client{Options: map[string]string{"blksize": "8", "windowsize": "32"}}
	got, _, err := c.Get(testCtx(t), s.Addr, "wrap")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
}

func TestNetascii(t *testing.T) {
	h := tftpd.HandlerFunc(func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		io.WriteString(w, "a\nb\rc\r\n")
	})
	s, _ := startServer(t, h)
	c := &tftptest.Client{Mode: "netascii"}
	got, _, err := c.Get(testCtx(t), s.Addr, "text")
	if err != nil {
		t.Fatal(err)
	}
	if want := "a\r\nb\r\x00c\r\x00\r\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRefusals(t *testing.T) {
	root, _ := bootRoot(t)
	s, rec := startServer(t, tftpd.FileServer(root))
	tests := []struct {
		file string
		opts map[string]string
		code uint16
	}{
		{"missing", nil, 1},
		{"sub", nil, 1}, // a directory
		{"../secret", nil, 2},
		{"escape", nil, 2},
		{"pxelinux.0", map[string]string{"blksize": "0"}, 8},
		{"pxelinux.0", map[string]string{"blksize": "7"}, 8},
		{"pxelinux.0", map[string]string{"windowsize": "0"}, 8},
	}
	for _, tt := range tests {
		c := &tftptest.Client{Options: tt.opts}
		_, _, err := c.Get(testCtx(t), s.Addr, tt.file)
		var te *tftptest.Error
		if !errors.As(err, &te) || te.Code != tt.code {
			t.Errorf("get %s %v: err %v, want error code %d", tt.file, tt.opts, err, tt.code)
		}
	}
	e := waitOutcome(t, rec, "missing")
	if e.Fields["outcome"] != "refused" {
		t.Errorf("audit of a missing file: %+v", e)
	}
	if st := waitStats(t, s.Config, func(st tftpd.Stats) bool { return st.Refused == uint64(len(tests)) }); st.Sent+st.Bytes != 0 {
		t.Errorf("Stats %+v after refusals only", st)
	}
}

// clientSocket returns a UDP socket on loopback for a hand-made client,
// closed when the test ends.
func clientSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// raw sends pkt to the server port and returns the first reply; a
// transfer it started is ended with an ERROR packet.
func raw(t *testing.T, addr *net.UDPAddr, pkt []byte) []byte {
	t.Helper()
	conn := clientSocket(t)
	defer conn.Close() // at once: raw is called many times in a test
	if _, err := conn.WriteToUDP(pkt, addr); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 1024)
	n, from, err := conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no reply to %q: %v", pkt, err)
	}
	conn.WriteToUDP(errorPacket, from)
	return buf[:n]
}

func TestBadPackets(t *testing.T) {
	root, _ := bootRoot(t)
	s, _ := startServer(t, tftpd.FileServer(root))
	addr := net.UDPAddrFromAddrPort(s.Addr)
	tests := []struct {
		name string
		pkt  []byte
		code byte
	}{
		{"truncated", []byte{0}, 4},
		{"unknown opcode", []byte{0, 42, 'x', 0}, 4},
		{"ack to the request port", []byte{0, 4, 0, 1}, 4},
		{"no NUL", []byte("\x00\x01pxelinux.0"), 4},
		{"bad mode", []byte("\x00\x01pxelinux.0\x00mail\x00"), 4},
		{"write request", []byte("\x00\x02upload\x00octet\x00"), 2},
	}
	for _, tt := range tests {
		got := raw(t, addr, tt.pkt)
		if len(got) < 5 || got[1] != 5 || got[3] != tt.code || got[len(got)-1] != 0 {
			t.Errorf("%s: reply %q, want ERROR code %d", tt.name, got, tt.code)
		}
	}
	// An ERROR packet gets no answer; the server still answers after it.
	conn, _ := net.DialUDP("udp4", nil, addr)
	conn.Write([]byte{0, 5, 0, 0, 0})
	conn.Close()
	if got := raw(t, addr, []byte("\x00\x01missing\x00octet\x00")); got[1] != 5 || got[3] != 1 {
		t.Errorf("reply after an ERROR packet: %q", got)
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestMisbehavingClients: a client that vanishes, one that acknowledges
// the wrong block and one that stops acknowledging: each transfer ends
// with a timeout or an error, and no descriptor is left open.
func TestMisbehavingClients(t *testing.T) {
	root, files := bootRoot(t)
	rec := &recorder{}
	s := tftptest.NewUnstartedServer(tftpd.FileServer(root))
	s.Config.Recorder = rec
	s.Config.Logger = slog.New(slog.DiscardHandler)
	s.Config.Timeout = 100 * time.Millisecond
	s.Config.Retries = 2
	s.Start()
	t.Cleanup(s.Close)

	before := openFDs(t)
	tests := []struct {
		name string
		c    *tftptest.Client
	}{
		{"vanishes", &tftptest.Client{StopAfter: 3}},
		{"vanishes with windows", &tftptest.Client{StopAfter: 3, Options: map[string]string{"windowsize": "4", "blksize": "1024"}}},
		{"acks the wrong block", &tftptest.Client{AckBlock: func(b uint16) uint16 { return b + 100 }, Retries: 1, Timeout: 2 * time.Second}},
		{"acks an old block", &tftptest.Client{AckBlock: func(b uint16) uint16 { return 0 }, Retries: 1, Timeout: 2 * time.Second}},
	}
	var wg sync.WaitGroup
	for i, tt := range tests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// each from its own port: a fresh file name keeps the events apart
			_ = i
			data, _, err := tt.c.Get(testCtx(t), s.Addr, "sub/big.bin")
			if err == nil && bytes.Equal(data, files["sub/big.bin"]) {
				t.Errorf("%s: transfer succeeded", tt.name)
			}
		}()
	}
	wg.Wait()
	ctx := testCtx(t)
	for rec.count("failed") < len(tests) {
		select {
		case <-ctx.Done():
			t.Fatalf("failed transfers recorded: %d, want %d", rec.count("failed"), len(tests))
		case <-rec.changed():
		}
	}
	// The transfer sockets are closed before the event is recorded.
	if after := openFDs(t); after > before {
		t.Errorf("open descriptors: %d before, %d after", before, after)
	}
}

// recorder counts outcomes.
type recorder struct {
	mu     sync.Mutex
	counts map[string]int
	ch     chan struct{}
}

func (r *recorder) Record(ctx context.Context, e audit.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = make(map[string]int)
	}
	r.counts[fmt.Sprint(e.Fields["outcome"])]++
	if r.ch != nil {
		close(r.ch)
		r.ch = nil
	}
}

func (r *recorder) count(outcome string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[outcome]
}

func (r *recorder) changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ch == nil {
		r.ch = make(chan struct{})
	}
	return r.ch
}

// TestStorm runs many transfers at once against a transfer limit lower
// than the number of clients: clients beyond the limit retry and every
// transfer completes.
func TestStorm(t *testing.T) {
	root, files := bootRoot(t)
	s := tftptest.NewUnstartedServer(tftpd.FileServer(root))
	s.Config.Logger = slog.New(slog.DiscardHandler)
	s.Config.MaxTransfers = 20
	s.Start()
	t.Cleanup(s.Close)
	const clients = 60
	errs := make(chan error, clients)
	for range clients {
		go func() {
			c := &tftptest.Client{Options: map[string]string{"blksize": "1468", "windowsize": "8"}, Retries: 20, Timeout: 500 * time.Millisecond}
			got, _, err := c.Get(testCtx(t), s.Addr, "pxelinux.0")
			if err == nil && !bytes.Equal(got, files["pxelinux.0"]) {
				err = errors.New("content differs")
			}
			errs <- err
		}()
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestShutdownAbortsTransfers(t *testing.T) {
	started := make(chan struct{})
	h := tftpd.HandlerFunc(func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		w.Write(make([]byte, 512)) // one block, then wait for the server to stop
		close(started)
		<-ctx.Done()
	})
	s := tftptest.NewUnstartedServer(h)
	s.Config.Logger = slog.New(slog.DiscardHandler)
	s.Start()
	errc := make(chan error, 1)
	go func() {
		_, _, err := (&tftptest.Client{Timeout: 30 * time.Second, Retries: 1}).Get(testCtx(t), s.Addr, "slow")
		errc <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Config.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want deadline exceeded", err)
	}
	var te *tftptest.Error
	if err := <-errc; !errors.As(err, &te) {
		t.Errorf("client: %v, want an ERROR packet", err)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Config.ServePacket(conn); !errors.Is(err, tftpd.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
}

func TestHandlerPanic(t *testing.T) {
	s, _ := startServer(t, tftpd.HandlerFunc(func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		panic("boom")
	}))
	_, _, err := (&tftptest.Client{}).Get(testCtx(t), s.Addr, "x")
	var te *tftptest.Error
	if !errors.As(err, &te) || te.Code != 0 {
		t.Errorf("err %v, want ERROR code 0", err)
	}
}

func TestRequestAddresses(t *testing.T) {
	got := make(chan *tftpd.Request, 1)
	s, _ := startServer(t, tftpd.HandlerFunc(func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		got <- r
	}))
	if _, _, err := (&tftptest.Client{}).Get(testCtx(t), s.Addr, "x"); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.LocalAddr != s.Addr || !r.RemoteAddr.Addr().IsLoopback() || r.RemoteAddr.Port() == 0 {
		t.Errorf("local %v remote %v, want local %v", r.LocalAddr, r.RemoteAddr, s.Addr)
	}
}

// TestLossRecovery drops data packets at the client: lockstep and
// windowed transfers resend what was lost (RFC 7440 section 4) and the
// file arrives intact.
func TestLossRecovery(t *testing.T) {
	root, files := bootRoot(t)
	s := tftptest.NewUnstartedServer(tftpd.FileServer(root))
	s.Config.Logger = slog.New(slog.DiscardHandler)
	s.Config.Timeout = 200 * time.Millisecond
	s.Config.Retries = 20 // a loaded machine may not run the client for a while
	s.Start()
	t.Cleanup(s.Close)
	for _, opts := range []map[string]string{
		{"blksize": "1024"},
		{"blksize": "1024", "windowsize": "8"},
		{"blksize": "512", "windowsize": "64"},
	} {
		t.Run(fmt.Sprint(opts), func(t *testing.T) {
			c := &tftptest.Client{
				Options: opts,
				Timeout: 300 * time.Millisecond,
				Retries: 20,
				// every 500th packet, and the first of a window now and then
				Drop: func(block uint16, n int) bool { return n%500 == 0 || (n%701 == 0 && block%8 == 1) },
			}
			want := files["sub/big.bin"]
			got, res, err := c.Get(testCtx(t), s.Addr, "sub/big.bin")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("got %d bytes, want %d, not identical", len(got), len(want))
			}
			blksize, _ := strconv.Atoi(opts["blksize"])
			if res.Blocks <= len(want)/blksize+1 {
				t.Errorf("%d data packets: nothing was resent", res.Blocks)
			}
		})
	}
}

// TestSamePortRequests: a PXE ROM may send its next request from the
// same port as soon as it has the previous answer, as pxelinux does when
// it walks through pxelinux.cfg names; each request gets its own answer.
func TestSamePortRequests(t *testing.T) {
	root, _ := bootRoot(t)
	s, _ := startServer(t, tftpd.FileServer(root))
	conn := clientSocket(t)
	buf := make([]byte, 1024)
	for i := range 20 {
		name := fmt.Sprintf("pxelinux.cfg/missing-%d", i)
		conn.WriteToUDP([]byte("\x00\x01"+name+"\x00octet\x00"), net.UDPAddrFromAddrPort(s.Addr))
		// A request taken for a retransmission would get no answer at
		// all, since this client never retransmits.
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, _, err := conn.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if n < 4 || buf[1] != 5 || buf[3] != 1 {
			t.Fatalf("request %d: reply %q, want file not found", i, buf[:n])
		}
	}
}

// TestSamePortSameFile: a request from the address of a running
// transfer is a retransmission only until the client has answered that
// transfer; after that it is a new request (a client that restarted, or
// another program behind the same address that got the same port) and
// gets its own transfer at once.
func TestSamePortSameFile(t *testing.T) {
	root, _ := bootRoot(t)
	s, _ := startServer(t, tftpd.FileServer(root))
	conn := clientSocket(t)
	rrq := []byte("\x00\x01sub/big.bin\x00octet\x00")
	buf := make([]byte, 1024)
	data := func(block byte) *net.UDPAddr { // waits for a DATA packet, returns its sender
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				t.Fatal(err)
			}
			if n >= 4 && buf[1] == 3 && buf[2] == 0 && buf[3] == block {
				return from
			}
		}
	}
	conn.WriteToUDP(rrq, net.UDPAddrFromAddrPort(s.Addr))
	conn.WriteToUDP(rrq, net.UDPAddrFromAddrPort(s.Addr)) // a retransmission: no second transfer
	tid1 := data(1)
	conn.WriteToUDP([]byte{0, 4, 0, 1}, tid1)
	data(2) // the transfer has the answer
	conn.WriteToUDP(rrq, net.UDPAddrFromAddrPort(s.Addr))
	tid2 := data(1)
	if tid2.Port == tid1.Port {
		t.Fatalf("block 1 again from the first transfer (port %d), not from a new one", tid1.Port)
	}
	for _, tid := range []*net.UDPAddr{tid1, tid2} {
		conn.WriteToUDP([]byte("\x00\x05\x00\x00done\x00"), tid)
	}
}

// TestSizeProbe: PXE firmware asks for tsize, then ends the transfer with
// an ERROR packet after the OACK, and asks again for the file.
func TestSizeProbe(t *testing.T) {
	root, _ := bootRoot(t)
	s, rec := startServer(t, tftpd.FileServer(root))
	conn := clientSocket(t)
	conn.WriteToUDP([]byte("\x00\x01pxelinux.0\x00octet\x00tsize\x000\x00"), net.UDPAddrFromAddrPort(s.Addr))
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 1024)
	n, from, err := conn.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:n]); got != "\x00\x06tsize\x0046000\x00" {
		t.Fatalf("OACK %q", got)
	}
	conn.WriteToUDP([]byte("\x00\x05\x00\x08tsize only\x00"), from)
	e := waitOutcome(t, rec, "pxelinux.0")
	if e.Fields["outcome"] != "aborted" {
		t.Errorf("outcome %v, want aborted", e.Fields["outcome"])
	}
}

// TestHandlerContext: when the client goes away, Write fails and the
// handler's context is canceled.
func TestHandlerContext(t *testing.T) {
	done := make(chan error, 1)
	h := tftpd.HandlerFunc(func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		var err error
		for err == nil {
			_, err = w.Write(make([]byte, 4096))
		}
		select {
		case <-ctx.Done():
			done <- err
		case <-time.After(time.Minute):
			done <- errors.New("context not canceled")
		}
	})
	s := tftptest.NewUnstartedServer(h)
	s.Config.Logger = slog.New(slog.DiscardHandler)
	s.Config.Timeout = 100 * time.Millisecond
	s.Start()
	t.Cleanup(s.Close)
	(&tftptest.Client{StopAfter: 5}).Get(testCtx(t), s.Addr, "endless")
	if err := <-done; err == nil || err.Error() == "context not canceled" {
		t.Errorf("handler: %v", err)
	}
}

// TestWildcardListener: on 0.0.0.0 the server learns the address each
// request was sent to and answers from it.
func TestWildcardListener(t *testing.T) {
	conn, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *tftpd.Request, 1)
	srv := &tftpd.Server{Logger: slog.New(slog.DiscardHandler), Handler: tftpd.HandlerFunc(func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		got <- r
		io.WriteString(w, "hello")
	})}
	go srv.ServePacket(conn)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	port := conn.LocalAddr().(*net.UDPAddr).Port
	addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	data, _, err := (&tftptest.Client{}).Get(testCtx(t), addr, "x")
	if err != nil || string(data) != "hello" {
		t.Fatalf("%q, %v", data, err)
	}
	if r := <-got; r.LocalAddr != addr {
		t.Errorf("LocalAddr %v, want %v", r.LocalAddr, addr)
	}
}
