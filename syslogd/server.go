package syslogd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/internal/serve"
)

// Defaults of a [Server].
const (
	DefaultAddr           = ":514"
	DefaultMaxMessageSize = 64 << 10
	DefaultMaxConns       = 256
	// DefaultMaxConnsPerHost bounds the TCP connections of one address,
	// so that one host cannot take them all: a machine needs one.
	DefaultMaxConnsPerHost = 8
	DefaultIdleTimeout     = 15 * time.Minute
	DefaultReadTimeout     = 30 * time.Second
	// tcpBufferSize is the read buffer of one TCP connection.
	tcpBufferSize = 32 << 10
	// tcpBatch and tcpBatchBytes bound a batch of TCP messages handed from
	// the reading goroutine to the handling one.
	tcpBatch      = 256
	tcpBatchBytes = 64 << 10
	// udpSocketBuffer is the receive buffer asked of the kernel for UDP,
	// so that bursts are not lost while a handler is slow.
	udpSocketBuffer = 4 << 20
	// udpQueueLen and udpQueueBytes bound, roughly, the datagrams of one
	// socket received but not yet handled.
	udpQueueLen   = 1 << 16
	udpQueueBytes = 32 << 20
)

// ErrServerClosed is returned by Serve, ServePacket and ListenAndServe
// after Shutdown.
var ErrServerClosed = errors.New("syslogd: server closed")

// Server receives syslog messages over UDP and TCP and hands them, with
// the machine they came from, to a Handler. The zero value is a server
// on DefaultAddr that logs every message. A Server must not be copied
// after first use; its fields must not be changed while it serves.
//
// Memory and waiting are bounded: a message longer than MaxMessageSize is
// cut (and counted), a TCP connection over MaxConns, or over
// MaxConnsPerHost from one address, is refused, a TCP client idle for
// IdleTimeout or that takes longer than ReadTimeout to send a message it
// began (a length prefix and nothing, say) is disconnected.
type Server struct {
	// Addr is the UDP and TCP address ListenAndServe listens on;
	// "" means DefaultAddr.
	Addr string
	// Handler is called for every message; nil logs every message to
	// Logger.
	Handler Handler
	// Store, if not nil, is asked for the machine of every sender.
	Store pxelator.Store
	// Logger receives the server's own errors; nil means slog.Default().
	Logger *slog.Logger

	MaxMessageSize int // bytes kept of one message; 0 means DefaultMaxMessageSize
	MaxConns       int // concurrent TCP connections; 0 means DefaultMaxConns
	// MaxConnsPerHost bounds the concurrent TCP connections from one IP
	// address; 0 means DefaultMaxConnsPerHost, <0 no bound but MaxConns.
	MaxConnsPerHost int
	IdleTimeout     time.Duration // TCP silence between messages; 0 means DefaultIdleTimeout, <0 none
	ReadTimeout     time.Duration // time to receive one begun TCP message; 0 means DefaultReadTimeout

	track serve.Tracker // listeners, packet connections and TCP connections
	stats stats

	hostsMu sync.Mutex
	hosts   map[netip.Addr]int // open TCP connections by address
}

// Stats counts what a [Server] received and what it had to cut, drop or
// refuse.
type Stats struct {
	Messages    uint64 // messages handed to the handler
	UDPMessages uint64 // datagrams taken in, handled or waiting to be
	Malformed   uint64 // messages that did not parse (kept as raw text)
	Truncated   uint64 // messages cut to MaxMessageSize or cut short by the sender
	// UDPDropped counts datagrams the server dropped because the handler
	// fell behind and its queue was full.
	UDPDropped uint64
	// UDPKernelDropped counts datagrams the kernel dropped because the
	// socket's buffer was full, as far as it tells (Linux: a drop is
	// known when the next datagram arrives).
	UDPKernelDropped uint64
	Bytes            uint64 // message bytes received, framing excluded
	Conns            uint64 // TCP connections accepted
	ConnsRefused     uint64 // TCP connections refused because MaxConns were open
	// HostConnsRefused counts TCP connections refused because their
	// address had MaxConnsPerHost open.
	HostConnsRefused uint64
	Timeouts         uint64 // TCP connections closed for idling or a stalled message
	ReadErrors       uint64 // failed reads other than timeouts and closes
	ActiveConns      int    // TCP connections open now
}

type stats struct {
	messages, udp, malformed, truncated, bytes, conns, refused, timeouts, readErrors atomic.Uint64
	hostRefused                                                                      atomic.Uint64
	udpDropped                                                                       atomic.Uint64
	udpKernelDropped                                                                 atomic.Uint64
	active                                                                           atomic.Int64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	t := &s.stats
	return Stats{
		Messages:         t.messages.Load(),
		UDPMessages:      t.udp.Load(),
		Malformed:        t.malformed.Load(),
		Truncated:        t.truncated.Load(),
		UDPDropped:       t.udpDropped.Load(),
		UDPKernelDropped: t.udpKernelDropped.Load(),
		Bytes:            t.bytes.Load(),
		Conns:            t.conns.Load(),
		ConnsRefused:     t.refused.Load(),
		HostConnsRefused: t.hostRefused.Load(),
		Timeouts:         t.timeouts.Load(),
		ReadErrors:       t.readErrors.Load(),
		ActiveConns:      int(t.active.Load()),
	}
}

// ListenAndServe listens on Addr over both UDP and TCP (on one port) and
// serves both until Shutdown or a listener fails.
func (s *Server) ListenAndServe() error {
	addr := s.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	pcs, l, err := serve.Listen(addr, 1)
	if err != nil {
		return fmt.Errorf("syslogd: %w", err)
	}
	return serve.ServeBoth(pcs, l, s.ServePacket, s.Serve, ErrServerClosed)
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) maxSize() int {
	if s.MaxMessageSize > 0 {
		return s.MaxMessageSize
	}
	return DefaultMaxMessageSize
}

func (s *Server) handler() Handler {
	if s.Handler != nil {
		return s.Handler
	}
	return LogHandler(s.log(), nil)
}

// ServePacket reads syslog datagrams from pc until Shutdown or a read
// error. It closes pc when it returns.
func (s *Server) ServePacket(pc net.PacketConn) error {
	release, ok := s.track.Track(pc)
	if !ok {
		return ErrServerClosed
	}
	defer release()
	ctx, cancel := s.track.Context()
	defer cancel()
	if rb, ok := pc.(interface{ SetReadBuffer(int) error }); ok {
		rb.SetReadBuffer(udpSocketBuffer) // best effort: the kernel may cap it
	}
	limit := s.maxSize()
	r := newDatagramReader(pc, limit+1)
	// The datagrams go through a bounded queue to the goroutines that
	// parse and handle them, so that this one is back at the socket at
	// once and a burst, or a slow moment of the handler, fills the queue
	// rather than overflows the socket's buffer.
	// Datagrams go in batches, those of one read, to spare wake-ups.
	q := make(chan []*Message, udpQueueLen/udpBatch)
	var queued atomic.Int64 // bytes in q
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.handle(ctx, q, func(batch []*Message) {
			for _, m := range batch {
				queued.Add(-int64(len(m.Raw)))
			}
		})
	}()
	defer func() {
		close(q)
		<-done
	}()
	for {
		n, err := r.read()
		if err != nil {
			if s.track.Closed() {
				return ErrServerClosed
			}
			s.stats.readErrors.Add(1)
			return fmt.Errorf("syslogd: udp: %w", err)
		}
		if drops, ok := r.drops(n); ok {
			s.stats.udpKernelDropped.Add(drops)
		}
		// This goroutine alone sends on q: when q has room, the send
		// does not block.
		if len(q) == cap(q) || queued.Load() > udpQueueBytes {
			s.stats.udpDropped.Add(uint64(n))
			continue
		}
		now := time.Now()
		batch := make([]*Message, n)
		for i := range n {
			d, from := r.datagram(i)
			// A datagram larger than the buffer is cut by the kernel.
			m := &Message{
				Received:  now,
				Source:    netip.AddrPortFrom(from.Addr().Unmap(), from.Port()),
				Network:   "udp",
				Truncated: len(d) > limit,
				Raw:       string(d[:min(len(d), limit)]),
			}
			queued.Add(int64(len(m.Raw)))
			batch[i] = m
		}
		s.stats.udp.Add(uint64(n))
		q <- batch
	}
}

// udpBatch is how many datagrams one system call reads at most.
const udpBatch = 16

// datagramReader reads datagrams, many in one system call (recvmmsg)
// where the platform has it.
type datagramReader struct {
	pc    net.PacketConn
	batch *ipv4.PacketConn // nil: one datagram per call
	msgs  []ipv4.Message
	// one datagram at a time
	buf  []byte
	n    int
	from netip.AddrPort
	// the kernel's drop count as last seen, when it tells
	dropped     uint32
	countsDrops bool
}

func newDatagramReader(pc net.PacketConn, size int) *datagramReader {
	r := &datagramReader{pc: pc}
	if uc, ok := pc.(*net.UDPConn); ok && (runtime.GOOS == "linux" || runtime.GOOS == "android") {
		r.batch = ipv4.NewPacketConn(uc)
		r.msgs = make([]ipv4.Message, udpBatch)
		r.countsDrops = countDrops(uc)
		for i := range r.msgs {
			r.msgs[i].Buffers = [][]byte{make([]byte, size)}
			if r.countsDrops {
				r.msgs[i].OOB = make([]byte, oobSize)
			}
		}
		return r
	}
	r.buf = make([]byte, size)
	return r
}

// read reads one or more datagrams and returns how many.
func (r *datagramReader) read() (int, error) {
	if r.batch != nil {
		return r.batch.ReadBatch(r.msgs, 0)
	}
	var err error
	r.n, r.from, err = readFrom(r.pc, r.buf)
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// drops returns how many datagrams the kernel dropped since the last
// call, as told with the n datagrams of the last read.
func (r *datagramReader) drops(n int) (uint64, bool) {
	if !r.countsDrops {
		return 0, false
	}
	var d uint64
	for i := range n {
		m := &r.msgs[i]
		if c, ok := dropCount(m.OOB[:m.NN]); ok {
			d += uint64(c - r.dropped) // the counter wraps
			r.dropped = c
		}
	}
	return d, true
}

// datagram returns datagram i of the last read and its sender.
func (r *datagramReader) datagram(i int) ([]byte, netip.AddrPort) {
	if r.batch == nil {
		return r.buf[:r.n], r.from
	}
	m := &r.msgs[i]
	var from netip.AddrPort
	if ua, ok := m.Addr.(*net.UDPAddr); ok {
		from = ua.AddrPort()
	}
	return m.Buffers[0][:m.N], from
}

// readFrom reads one datagram, without allocating for the address when pc
// is a *net.UDPConn.
func readFrom(pc net.PacketConn, buf []byte) (int, netip.AddrPort, error) {
	if uc, ok := pc.(*net.UDPConn); ok {
		return uc.ReadFromUDPAddrPort(buf)
	}
	n, a, err := pc.ReadFrom(buf)
	var ap netip.AddrPort
	if ua, ok := a.(*net.UDPAddr); ok {
		ap = ua.AddrPort()
	}
	return n, ap, err
}

// handle parses the messages of the batches from q, which have their Raw
// text, and hands them to the handler, in order: parsing on this
// goroutine, the handler on another, so that both run at once. It calls
// took, if not nil, with every batch taken from q. It returns when q is
// closed and every message is handled.
func (s *Server) handle(ctx context.Context, q <-chan []*Message, took func([]*Message)) {
	parsed := make(chan []*Message, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		h := s.handler()
		for batch := range parsed {
			s.deliver(ctx, h, batch)
		}
	}()
	p := newParser()
	var raw []byte
	for batch := range q {
		if took != nil {
			took(batch)
		}
		for _, m := range batch {
			raw = append(raw[:0], m.Raw...)
			p.parse(m, raw)
		}
		parsed <- batch
	}
	close(parsed)
	<-done
}

// deliver adds the machine to the messages of batch, counts them and
// hands them to h. The store is asked once for every run of messages
// from one address: the messages of a run share their Machine.
func (s *Server) deliver(ctx context.Context, h Handler, batch []*Message) {
	var (
		bytes, malformed, truncated uint64
		from                        netip.Addr
		machine                     *pxelator.Machine
	)
	for i, m := range batch {
		if s.Store != nil {
			if a := m.Source.Addr(); i == 0 || a != from {
				from, machine = a, nil
				if mc, err := s.Store.ByIP(ctx, a); err == nil {
					machine = &mc
				}
			}
			m.Machine = machine
		}
		bytes += uint64(len(m.Raw))
		if m.Err != nil {
			malformed++
		}
		if m.Truncated {
			truncated++
		}
	}
	// Counted before the handler sees them, so that a handler's effect
	// never shows before the count.
	s.stats.messages.Add(uint64(len(batch)))
	s.stats.bytes.Add(bytes)
	s.stats.malformed.Add(malformed)
	s.stats.truncated.Add(truncated)
	for _, m := range batch {
		h.ServeSyslog(ctx, m)
	}
}

// Serve accepts TCP connections on l and reads syslog messages from each,
// in either framing of RFC 6587, until Shutdown or an accept error. It
// closes l when it returns.
func (s *Server) Serve(l net.Listener) error {
	release, ok := s.track.Track(l)
	if !ok {
		return ErrServerClosed
	}
	defer release()
	maxConns := s.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	var backoff time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.track.Closed() {
				return ErrServerClosed
			}
			var te interface{ Temporary() bool }
			if errors.As(err, &te) && te.Temporary() {
				// Out of file descriptors and the like: wait and retry.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("syslogd: accept: %w", err)
		}
		backoff = 0
		release, ok := s.accept(c, maxConns)
		if !ok {
			continue
		}
		go s.serveConn(c, release)
	}
}

// accept registers c for Shutdown to close, or closes and counts it when
// the server, or c's host, is full or the server shut down.
func (s *Server) accept(c net.Conn, maxConns int) (release func(), ok bool) {
	if s.stats.active.Add(1) > int64(maxConns) {
		s.stats.active.Add(-1)
		s.stats.refused.Add(1)
		c.Close()
		return nil, false
	}
	host := addrOf(c.RemoteAddr())
	if !s.takeHost(host) {
		s.stats.active.Add(-1)
		s.stats.hostRefused.Add(1)
		c.Close()
		return nil, false
	}
	untrack, ok := s.track.Track(c)
	if !ok { // shut down
		s.releaseHost(host)
		s.stats.active.Add(-1)
		s.stats.refused.Add(1)
		return nil, false
	}
	s.stats.conns.Add(1)
	return func() { untrack(); s.releaseHost(host) }, true
}

// takeHost counts one more connection of host, unless it has
// MaxConnsPerHost open.
func (s *Server) takeHost(host netip.Addr) bool {
	limit := s.MaxConnsPerHost
	if limit == 0 {
		limit = DefaultMaxConnsPerHost
	}
	s.hostsMu.Lock()
	defer s.hostsMu.Unlock()
	if limit > 0 && s.hosts[host] >= limit {
		return false
	}
	if s.hosts == nil {
		s.hosts = make(map[netip.Addr]int)
	}
	s.hosts[host]++
	return true
}

func (s *Server) releaseHost(host netip.Addr) {
	s.hostsMu.Lock()
	defer s.hostsMu.Unlock()
	if s.hosts[host]--; s.hosts[host] <= 0 {
		delete(s.hosts, host)
	}
}

// addrOf returns the IP address of a TCP peer, IPv4 unmapped.
func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// serveConn reads the messages of c until it is closed; release forgets
// and closes it.
func (s *Server) serveConn(c net.Conn, release func()) {
	defer func() {
		release()
		s.stats.active.Add(-1)
	}()
	ctx, cancel := s.track.Context()
	defer cancel()
	var from netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		from = ta.AddrPort()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	}
	dc := &deadlineConn{Conn: c, idle: s.IdleTimeout, msg: s.ReadTimeout}
	if dc.idle == 0 {
		dc.idle = DefaultIdleTimeout
	}
	if dc.msg <= 0 {
		dc.msg = DefaultReadTimeout
	}
	fr := newFrameReader(dc, tcpBufferSize, s.maxSize())
	fr.begin = dc.begin
	fr.end = dc.end
	// This goroutine reads and frames; others parse and handle. The
	// messages go over in batches of what one read brought, each of at
	// most tcpBatch messages and tcpBatchBytes of text, at most two
	// batches waiting at each step: a slow handler slows the sender down.
	q := make(chan []*Message, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.handle(ctx, q, nil)
	}()
	defer func() {
		close(q)
		<-done
	}()
	var batch []*Message
	size := 0
	for {
		f, err := fr.next()
		if err != nil {
			if len(batch) > 0 {
				q <- batch
			}
			switch {
			case s.track.Closed(), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
			case errors.Is(err, os.ErrDeadlineExceeded):
				s.stats.timeouts.Add(1)
			default:
				s.stats.readErrors.Add(1)
				s.log().Debug("syslogd: tcp read", "from", from, "err", err)
			}
			return
		}
		// A message is taken as received when the read that completed
		// it returned.
		m := &Message{Received: dc.last, Source: from, Network: "tcp", Truncated: f.cut || f.short, Raw: string(f.data)}
		batch = append(batch, m)
		size += len(m.Raw)
		if len(batch) >= tcpBatch || size >= tcpBatchBytes || fr.r.Buffered() == 0 {
			q <- batch
			batch, size = make([]*Message, 0, len(batch)), 0
		}
	}
}

// deadlineConn sets a read deadline before every read: IdleTimeout from
// now between messages, and inside a message the time it must be complete
// by, ReadTimeout from the first read that waits for its rest. It notes
// the time every read returned.
type deadlineConn struct {
	net.Conn
	idle, msg time.Duration
	inMsg     bool      // between begin and end
	until     time.Time // the deadline of the message being read, or zero
	last      time.Time // when the last read returned
}

func (d *deadlineConn) begin() { d.inMsg = true }
func (d *deadlineConn) end()   { d.inMsg, d.until = false, time.Time{} }

func (d *deadlineConn) Read(p []byte) (int, error) {
	var dl time.Time
	switch {
	case d.inMsg:
		if d.until.IsZero() {
			d.until = time.Now().Add(d.msg)
		}
		dl = d.until
	case d.idle > 0:
		dl = time.Now().Add(d.idle)
	}
	if err := d.Conn.SetReadDeadline(dl); err != nil {
		return 0, err
	}
	n, err := d.Conn.Read(p)
	d.last = time.Now()
	return n, err
}

// Shutdown stops the server: it closes the listeners and packet
// connections, ends the reads of open TCP connections (the messages
// already read are still handled), and waits for the messages being
// handled, or until ctx is done, when it cancels the handlers' context.
func (s *Server) Shutdown(ctx context.Context) error {
	if err := s.track.Shutdown(ctx); err != nil {
		return fmt.Errorf("syslogd: shutdown: %w", err)
	}
	return nil
}
