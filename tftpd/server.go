package tftpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/internal/serve"
	"github.com/pxelator/pxelator/internal/sockopt"
)

// Defaults of the Server's limits.
const (
	DefaultMaxTransfers  = 2000
	DefaultTimeout       = time.Second
	DefaultRetries       = 5
	DefaultMaxWindowSize = 64
	DefaultReadBuffer    = 8 << 20
	// DefaultMaxClientTimeout bounds the timeout option a client may ask
	// for: with the retries, a silent client holds its transfer for at
	// most a minute.
	DefaultMaxClientTimeout = 10 * time.Second
)

// ErrServerClosed is returned by ServePacket and ListenAndServe after
// Shutdown.
var ErrServerClosed = errors.New("tftpd: server closed")

// A Server answers TFTP read requests (RFC 1350) with the options blksize
// (RFC 2348), tsize and timeout (RFC 2349) and windowsize (RFC 7440).
// Write requests are refused. Each transfer has its own socket (its own
// transfer ID), closed when the transfer ends, whether it succeeded or not.
//
// The zero value is ready to use; fields must not change after
// ServePacket has been called.
type Server struct {
	// Addr is the address ListenAndServe listens on, ":69" if empty.
	Addr string
	// Handler answers requests; nil means "file not found" for all.
	Handler Handler
	// Recorder, if not nil, records every request as an event of package
	// "tftpd", action "read", with the fields file, outcome (ok; refused:
	// answered with an ERROR; aborted: by the client's ERROR; failed:
	// timeout or client gone), bytes, duration_ms, and for transfers
	// blksize, windowsize and resent (blocks sent again), error if any.
	Recorder audit.Recorder
	// Logger receives one line per transfer; nil means slog.Default().
	Logger *slog.Logger

	// MaxTransfers bounds concurrent transfers (default
	// DefaultMaxTransfers). Requests beyond it are dropped and the client
	// retries, as it does for a lost request.
	MaxTransfers int
	// Timeout is the retransmission timeout (default DefaultTimeout) for
	// clients that do not ask for one with the timeout option.
	Timeout time.Duration
	// MaxClientTimeout bounds the timeout option (default
	// DefaultMaxClientTimeout): a larger one is left out of the OACK, as
	// RFC 2349 allows, and Timeout applies.
	MaxClientTimeout time.Duration
	// Retries is how many times an unacknowledged packet is sent again
	// before the transfer is abandoned (default DefaultRetries).
	Retries int
	// MaxBlockSize bounds the blksize option (default and maximum 65464).
	MaxBlockSize int
	// MaxWindowSize bounds the windowsize option (default
	// DefaultMaxWindowSize).
	MaxWindowSize int
	// ReadBuffer is the receive buffer of the request socket in bytes
	// (default DefaultReadBuffer), so that a boot storm's requests are
	// queued rather than lost.
	ReadBuffer int

	track    serve.Tracker // the request sockets and the transfers
	counts   struct{ sent, refused, aborted, failed, bytes atomic.Uint64 }
	mu       sync.Mutex
	active   map[netip.AddrPort]*claim // each client's latest running transfer
	sem      chan struct{}
	initOnce sync.Once
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.active = make(map[netip.AddrPort]*claim)
		s.sem = make(chan struct{}, cmpOr(s.MaxTransfers, DefaultMaxTransfers))
	})
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// ListenAndServe listens on the UDP address s.Addr and calls ServePacket.
func (s *Server) ListenAndServe() error {
	addr := cmpOr(s.Addr, ":69")
	network := "udp4"
	if host, _, err := net.SplitHostPort(addr); err == nil && host != "" {
		if ip, err := netip.ParseAddr(host); err != nil || ip.Is6() {
			network = "udp"
		}
	}
	conn, err := net.ListenPacket(network, addr)
	if err != nil {
		return fmt.Errorf("tftpd: %w", err)
	}
	return s.ServePacket(conn)
}

// ServePacket answers the requests that arrive on conn until Shutdown is
// called, and then returns ErrServerClosed. ServePacket closes conn.
func (s *Server) ServePacket(conn net.PacketConn) error {
	s.init()
	release, ok := s.track.Track(conn)
	if !ok {
		return ErrServerClosed
	}
	defer release()

	port := uint16(0)
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		port = uint16(ua.Port)
	}
	read := plainReader(conn)
	if uc, ok := conn.(*net.UDPConn); ok {
		if err := sockopt.SetReadBuffer(uc, cmpOr(s.ReadBuffer, DefaultReadBuffer)); err != nil {
			s.log().Warn("tftpd: setting the receive buffer", "err", err)
		}
		read = dstReader(uc)
	}
	buf := make([]byte, 65536)
	for {
		n, from, dst, err := read(buf)
		if err != nil {
			if s.track.Closed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("tftpd: reading requests: %w", err)
		}
		if !dst.IsValid() {
			dst = addrOf(conn.LocalAddr())
		}
		s.handle(conn, buf[:n], from, netip.AddrPortFrom(dst, port))
	}
}

// handle answers one packet that arrived on the request port.
func (s *Server) handle(conn net.PacketConn, pkt []byte, from netip.AddrPort, local netip.AddrPort) {
	op, req, perr := parseRequest(pkt)
	if perr == errIgnore {
		return
	}
	if perr == nil && op == opWRQ {
		perr = errorf(CodeAccess, "write requests are refused")
	}
	if perr != nil {
		conn.WriteTo(appendError(nil, perr.Code, perr.Msg), net.UDPAddrFromAddrPort(from))
		s.record(from, req, stats{outcome: "refused", err: perr})
		return
	}
	req.RemoteAddr, req.LocalAddr = from, local

	s.mu.Lock()
	if c, ok := s.active[from]; ok && c.file == req.Filename && !c.answered.Load() { // a retransmitted request
		s.mu.Unlock()
		return
	}
	select {
	case s.sem <- struct{}{}:
	default:
		s.mu.Unlock()
		s.log().Warn("tftpd: too many transfers, request dropped", "client", from, "file", req.Filename, "max", cap(s.sem))
		return
	}
	if !s.track.Add() { // shut down
		<-s.sem
		s.mu.Unlock()
		return
	}
	c := &claim{file: req.Filename}
	s.active[from] = c
	s.mu.Unlock()
	go s.serve(req, c)
}

// A claim marks a client's address as having a running transfer, so that
// a retransmitted request does not start a second one. Once the client
// has answered the transfer, a request from the same address is a new
// one: a client that restarts, or, behind one address, another program
// that got the same port.
type claim struct {
	file     string
	answered atomic.Bool
}

// serve runs one transfer and records it once its socket is closed.
func (s *Server) serve(req *Request, c *claim) {
	start := time.Now()
	defer func() {
		s.mu.Lock()
		if s.active[req.RemoteAddr] == c {
			delete(s.active, req.RemoteAddr)
		}
		s.mu.Unlock()
		<-s.sem
		s.track.Done()
	}()
	st := s.transfer(req, &c.answered)
	if st.outcome != "" {
		st.duration = time.Since(start)
		s.record(req.RemoteAddr, req, st)
	}
}

// stats describe a finished transfer.
type stats struct {
	// ok; refused (an ERROR the handler or the options asked for);
	// aborted (by the client's ERROR); failed (timeout, client gone).
	outcome  string
	bytes    int64
	resent   int // blocks sent again
	duration time.Duration
	p        params
	err      error
}

// transfer opens the transfer's socket, negotiates the options, runs the
// handler and sends what it wrote. The outcome is "" when no socket could
// be opened.
func (s *Server) transfer(req *Request, answered *atomic.Bool) stats {
	local := req.LocalAddr.Addr()
	if !local.IsValid() || local.IsUnspecified() || local == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || local.IsMulticast() {
		local = netip.Addr{}
	}
	// A transfer waits for its client in a blocking system call while the
	// transfers leave a processor (GOMAXPROCS) free for the others.
	conn, err := dialPeer(local, req.RemoteAddr, len(s.sem) < runtime.GOMAXPROCS(0))
	if err != nil {
		s.log().Warn("tftpd: opening transfer socket", "client", req.RemoteAddr, "err", err)
		return stats{}
	}
	defer conn.close()

	p, perr := negotiate(req.Options, limits{
		maxBlksize: min(cmpOr(s.MaxBlockSize, maxBlksize), maxBlksize),
		maxWindow:  min(cmpOr(s.MaxWindowSize, DefaultMaxWindowSize), maxWindowsize),
		timeout:    cmpOr(s.Timeout, DefaultTimeout),
		maxTimeout: cmpOr(s.MaxClientTimeout, DefaultMaxClientTimeout),
	})
	if perr != nil {
		conn.write(appendError(nil, perr.Code, perr.Msg))
		return stats{outcome: "refused", err: perr}
	}
	ctx, cancel := s.track.Context() // canceled when Shutdown gives up waiting
	defer cancel()
	stop := context.AfterFunc(ctx, conn.interrupt)
	defer stop()

	t := newTransfer(ctx, cancel, conn, req, p, cmpOr(s.Retries, DefaultRetries))
	t.answered = answered
	s.call(ctx, t, req)
	st := stats{outcome: "ok", p: p, err: t.finish()}
	st.bytes, st.resent = t.bytes, t.resent
	var pe *protoError
	var ce *clientError
	switch {
	case errors.As(st.err, &pe) && t.code != CodeUndefined:
		st.outcome = "refused" // the handler refused it: not found, access
	case errors.As(st.err, &ce):
		st.outcome = "aborted" // by the client, often on purpose
	case st.err != nil:
		st.outcome = "failed"
	}
	return st
}

// call runs the handler, turning a panic into an aborted transfer.
func (s *Server) call(ctx context.Context, t *transfer, req *Request) {
	defer func() {
		if v := recover(); v != nil {
			s.log().Error("tftpd: handler panic", "file", req.Filename, "panic", v)
			t.WriteError(CodeUndefined, "internal error")
		}
	}()
	h := s.Handler
	if h == nil {
		h = NotFoundHandler()
	}
	h.ServeTFTP(ctx, t, req)
}

// Stats counts the read requests a [Server] took, by outcome, and the
// file bytes it sent.
type Stats struct {
	Sent    uint64 // files sent in full
	Refused uint64 // requests answered with an ERROR: not found, access, bad options
	Aborted uint64 // transfers the client stopped with an ERROR
	Failed  uint64 // transfers that timed out or lost their client
	Bytes   uint64 // file bytes sent, in every transfer
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	c := &s.counts
	return Stats{Sent: c.sent.Load(), Refused: c.refused.Load(), Aborted: c.aborted.Load(), Failed: c.failed.Load(), Bytes: c.bytes.Load()}
}

// record counts and logs a transfer and sends it to the Recorder.
func (s *Server) record(client netip.AddrPort, req *Request, st stats) {
	switch st.outcome {
	case "ok":
		s.counts.sent.Add(1)
	case "refused":
		s.counts.refused.Add(1)
	case "aborted":
		s.counts.aborted.Add(1)
	case "failed":
		s.counts.failed.Add(1)
	}
	s.counts.bytes.Add(uint64(max(st.bytes, 0)))
	file := ""
	if req != nil {
		file = req.Filename
	}
	attrs := []any{"client", client, "file", file, "outcome", st.outcome, "bytes", st.bytes, "duration", st.duration}
	if st.resent > 0 {
		attrs = append(attrs, "resent", st.resent)
	}
	if st.err != nil {
		attrs = append(attrs, "err", st.err)
	}
	level := slog.LevelInfo
	switch {
	case st.outcome == "failed":
		level = slog.LevelWarn
	case req == nil: // a malformed packet: debug, so that junk cannot flood the log
		level = slog.LevelDebug
	}
	s.log().Log(context.Background(), level, "tftpd: read", attrs...)
	if s.Recorder == nil {
		return
	}
	fields := map[string]any{"file": file, "outcome": st.outcome, "bytes": st.bytes, "duration_ms": st.duration.Milliseconds()}
	if st.p.blksize > 0 {
		fields["blksize"], fields["windowsize"], fields["resent"] = st.p.blksize, st.p.windowsize, st.resent
	}
	if st.err != nil {
		fields["error"] = st.err.Error()
	}
	audit.Record(context.Background(), s.Recorder, audit.Event{
		Package: "tftpd", Action: "read", IP: client.Addr().Unmap(), Fields: fields,
	})
}

// Shutdown stops reading requests, waits for the running transfers to
// end until ctx is done, then aborts the remaining ones with an ERROR
// packet and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.track.Shutdown(ctx)
	if err != nil {
		s.track.Wait() // the aborted transfers send their ERROR and end
	}
	return err
}

// reader reads one request with the address it came from and the address
// it was sent to (invalid when unknown).
type reader func(b []byte) (n int, from netip.AddrPort, dst netip.Addr, err error)

func plainReader(conn net.PacketConn) reader {
	return func(b []byte) (int, netip.AddrPort, netip.Addr, error) {
		n, from, err := conn.ReadFrom(b)
		return n, addrPortOf(from), netip.Addr{}, err
	}
}

// dstReader asks the system for each request's destination address, so
// that a server on a wildcard address answers from the address the client
// used.
func dstReader(conn *net.UDPConn) reader {
	if la := addrOf(conn.LocalAddr()); la.Is4() {
		pc := ipv4.NewPacketConn(conn)
		if pc.SetControlMessage(ipv4.FlagDst, true) == nil {
			return func(b []byte) (int, netip.AddrPort, netip.Addr, error) {
				n, cm, from, err := pc.ReadFrom(b)
				var dst netip.Addr
				if cm != nil {
					dst, _ = netip.AddrFromSlice(cm.Dst.To4())
				}
				return n, addrPortOf(from), dst, err
			}
		}
	} else {
		pc := ipv6.NewPacketConn(conn)
		if pc.SetControlMessage(ipv6.FlagDst, true) == nil {
			return func(b []byte) (int, netip.AddrPort, netip.Addr, error) {
				n, cm, from, err := pc.ReadFrom(b)
				var dst netip.Addr
				if cm != nil {
					dst, _ = netip.AddrFromSlice(cm.Dst)
					dst = dst.Unmap()
				}
				return n, addrPortOf(from), dst, err
			}
		}
	}
	return plainReader(conn)
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ua, ok := a.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

func addrOf(a net.Addr) netip.Addr { return addrPortOf(a).Addr() }
