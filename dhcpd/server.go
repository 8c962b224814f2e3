package dhcpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"golang.org/x/net/ipv4"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/internal/serve"
	"github.com/pxelator/pxelator/internal/sockopt"
)

// ErrServerClosed is returned by ServePacket and ListenAndServe after
// Shutdown.
var ErrServerClosed = errors.New("dhcpd: server closed")

// DefaultWorkers is the number of packets a Server handles at once when
// Server.Workers is zero: enough for handlers that wait on a store now
// and then to overlap their waits.
const DefaultWorkers = 128

// socketBuffer is the receive buffer asked for a listening socket.
const socketBuffer = 4 << 20

// Server reads DHCP and BOOTP requests from UDP sockets and hands them to
// its Handler with a fixed pool of workers: a flood of packets queues in
// the socket buffer and is dropped there, it never starts unbounded
// goroutines.
type Server struct {
	// Addr is the address ListenAndServe listens on; "" means ":67".
	Addr string
	// Interface, when set, binds the socket to that interface
	// (SO_BINDTODEVICE); else the server listens on all of them.
	Interface string
	// Handler answers the requests.
	Handler Handler
	// Workers is the number of requests handled at once (default
	// DefaultWorkers).
	Workers int
	// Recorder, when not nil, records every packet received and sent.
	// The events of a client carry its MAC address as their Ident, so
	// that a DISCOVER, OFFER, REQUEST and ACK within one second make one
	// audit document.
	Recorder audit.Recorder
	// Logger receives errors and bad packets; nil means slog.Default().
	// A line that packets cause is written at most once per 10 s, with
	// the count of those held back.
	Logger *slog.Logger

	track    serve.Tracker
	ifnames  sync.Map // int -> string
	received atomic.Uint64
	bad      atomic.Uint64
	replies  atomic.Uint64
	writeErr atomic.Uint64
	panics   atomic.Uint64
	badLog   throttle
	panicLog throttle
}

// Stats counts what a Server did.
type Stats struct {
	Received    uint64 // packets read
	Malformed   uint64 // packets dropped as malformed, oversized or not requests
	Replies     uint64 // replies sent
	WriteErrors uint64 // replies that could not be sent
	Panics      uint64 // handler panics recovered
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Received:    s.received.Load(),
		Malformed:   s.bad.Load(),
		Replies:     s.replies.Load(),
		WriteErrors: s.writeErr.Load(),
		Panics:      s.panics.Load(),
	}
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// ListenPacket opens the UDP socket ListenAndServe would serve: bound to
// s.Addr and, when set, to s.Interface (SO_BINDTODEVICE), with broadcasts
// allowed and a large receive buffer. Open it ahead of ServePacket where
// the socket must be made elsewhere, such as in another network
// namespace.
func (s *Server) ListenPacket() (net.PacketConn, error) {
	addr := s.Addr
	if addr == "" {
		addr = fmt.Sprintf(":%d", ServerPort)
	}
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("dhcpd: listen %s: %w", addr, err)
	}
	conn, err := server4.NewIPv4UDPConn(s.Interface, ua)
	if err != nil {
		return nil, fmt.Errorf("dhcpd: listen %s: %w", addr, err)
	}
	sockopt.SetReadBuffer(conn, socketBuffer) // a large one rides out a boot storm's bursts
	return conn, nil
}

// ListenAndServe listens on s.Addr (and s.Interface) and serves requests
// until Shutdown, when it returns ErrServerClosed.
func (s *Server) ListenAndServe() error {
	conn, err := s.ListenPacket()
	if err != nil {
		return err
	}
	return s.ServePacket(conn)
}

// ServePacket serves requests read from conn until Shutdown, when it
// returns ErrServerClosed. conn is closed on return. The interface and
// local address of a request are known when conn is a *net.UDPConn.
func (s *Server) ServePacket(conn net.PacketConn) error {
	release, ok := s.track.Track(conn)
	if !ok {
		return ErrServerClosed
	}
	defer release()
	ctx, cancel := s.track.Context()
	defer cancel()
	n := s.Workers
	if n <= 0 {
		n = DefaultWorkers
	}

	var (
		pc     *ipv4.PacketConn
		withCM bool
	)
	if _, ok := conn.(net.Conn); ok { // ipv4.NewPacketConn wants a socket
		pc = ipv4.NewPacketConn(conn)
		withCM = pc.SetControlMessage(ipv4.FlagInterface|ipv4.FlagDst, true) == nil
	}
	port := 0
	if ua, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		port = ua.Port
	}
	errc := make(chan error, n)
	for range n {
		go func() { errc <- s.work(ctx, conn, pc, withCM, uint16(port)) }()
	}
	var first error
	for range n {
		if err := <-errc; err != nil && first == nil {
			first = err
			conn.Close() // stop the other workers
		}
	}
	if s.track.Closed() {
		return ErrServerClosed
	}
	return first
}

// readBatch is the most packets a worker reads with one system call
// (recvmmsg on Linux): under load, a worker takes what has queued up
// instead of waking another worker for every packet.
const readBatch = 16

// work is one worker: read, parse, handle, until the socket is closed.
func (s *Server) work(ctx context.Context, conn net.PacketConn, pc *ipv4.PacketConn, withCM bool, port uint16) error {
	if pc == nil {
		buf := make([]byte, maxPacket+1)
		for {
			n, peer, err := conn.ReadFrom(buf)
			if err != nil {
				return readErr(err)
			}
			s.received.Add(1)
			s.handle(ctx, conn, pc, buf[:n], nil, peer, port)
		}
	}
	ms := make([]ipv4.Message, readBatch)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, maxPacket+1)}
		if withCM {
			ms[i].OOB = ipv4.NewControlMessage(ipv4.FlagInterface | ipv4.FlagDst)
		}
	}
	for {
		n, err := pc.ReadBatch(ms, 0)
		if err != nil {
			return readErr(err)
		}
		s.received.Add(uint64(n))
		for i := range ms[:n] {
			m := &ms[i]
			var cm *ipv4.ControlMessage
			if withCM {
				cm = new(ipv4.ControlMessage)
				if cm.Parse(m.OOB[:m.NN]) != nil {
					cm = nil
				}
			}
			s.handle(ctx, conn, pc, m.Buffers[0][:m.N], cm, m.Addr, port)
		}
	}
}

// readErr is what a worker returns when reading fails: nil once the
// socket is closed.
func readErr(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return fmt.Errorf("dhcpd: read: %w", err)
}

// handle parses and serves one packet, recovering from handler panics.
func (s *Server) handle(ctx context.Context, conn net.PacketConn, pc *ipv4.PacketConn, b []byte, cm *ipv4.ControlMessage, peer net.Addr, port uint16) {
	var pa netip.AddrPort
	if ua, ok := peer.(*net.UDPAddr); ok {
		pa = ua.AddrPort()
		pa = netip.AddrPortFrom(pa.Addr().Unmap(), pa.Port())
	}
	req, err := ParseRequest(b)
	if err != nil {
		s.badLog.log(s.logger(), slog.LevelWarn, "dhcpd: dropping bad packet", "peer", pa, "err", err, "count", s.bad.Add(1))
		audit.Record(ctx, s.Recorder, audit.Event{Package: "dhcpd", Action: "malformed", IP: pa.Addr(),
			Fields: map[string]any{"error": err.Error(), "bytes": len(b)}})
		return
	}
	req.Peer = pa
	if cm != nil {
		req.IfIndex = cm.IfIndex
		req.IfName = s.ifname(cm.IfIndex)
		if dst, ok := netip.AddrFromSlice(cm.Dst.To4()); ok {
			req.Local = netip.AddrPortFrom(dst, port)
		}
	}
	if !req.Local.IsValid() {
		req.Local = netip.AddrPortFrom(netip.IPv4Unspecified(), port)
	}
	s.recordPacket(ctx, req, req.Packet, "", netip.AddrPort{}, time.Time{})
	defer func() {
		if p := recover(); p != nil {
			s.panics.Add(1)
			s.panicLog.log(s.logger(), slog.LevelError, "dhcpd: handler panic", "mac", req.MAC().String(), "panic", p, "stack", string(debug.Stack()))
		}
	}()
	if s.Handler != nil {
		s.Handler.ServeDHCP(ctx, &writer{s: s, conn: conn, pc: pc, withCM: cm != nil, req: req}, req)
	}
}

func (s *Server) ifname(index int) string {
	if s.Interface != "" || index == 0 {
		return s.Interface
	}
	if n, ok := s.ifnames.Load(index); ok {
		return n.(string)
	}
	ifi, err := net.InterfaceByIndex(index)
	if err != nil {
		return ""
	}
	s.ifnames.Store(index, ifi.Name)
	return ifi.Name
}

// recordPacket records a received request (dst invalid) or a sent reply,
// at the time at (zero: now).
func (s *Server) recordPacket(ctx context.Context, req *Request, p *dhcpv4.DHCPv4, file string, dst netip.AddrPort, at time.Time) {
	if s.Recorder == nil {
		return
	}
	action := "bootrequest"
	if p.Options.Has(dhcpv4.OptionDHCPMessageType) {
		action = messageAction(p.MessageType())
	} else if dst.IsValid() {
		action = "bootreply"
	}
	f := make(map[string]any, 6)
	f["xid"] = xidString(p.TransactionID)
	if req.IfName != "" {
		f["iface"] = req.IfName
	}
	if req.Relay.IsValid() {
		f["relay"] = req.Relay.String()
	}
	ip := req.Peer.Addr()
	if dst.IsValid() {
		f["dst"] = dst.String()
		if file != "" {
			f["file"] = file
		}
		if y, ok := netip.AddrFromSlice(p.YourIPAddr.To4()); ok && !y.IsUnspecified() {
			ip = y
		}
	} else if req.PXE.IsPXE() || req.PXE.HasArch {
		f["arch"] = req.PXE.Arch.String()
		f["class"] = req.PXE.Class
		if req.PXE.IPXE {
			f["ipxe"] = true
		}
	}
	if ip.IsUnspecified() {
		ip = netip.Addr{}
	}
	audit.Record(ctx, s.Recorder, audit.Event{Time: at, Package: "dhcpd", Action: action, IP: ip, Ident: req.MAC().String(),
		MAC: req.MAC(), Hostname: dhcpv4.GetString(dhcpv4.OptionHostName, p.Options), Fields: f})
}

// Shutdown stops the server: it closes the sockets, then waits for the
// requests being handled to finish, or for ctx to be done, when it cancels
// their context and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error { return s.track.Shutdown(ctx) }

// writer is the ResponseWriter of one request.
type writer struct {
	s      *Server
	conn   net.PacketConn
	pc     *ipv4.PacketConn
	withCM bool // the socket speaks control messages
	req    *Request
}

func (w *writer) Write(ctx context.Context, reply *dhcpv4.DHCPv4) error {
	dst := Destination(w.req, reply)
	var cm *ipv4.ControlMessage
	if dst.Addr() == netip.AddrFrom4([4]byte{255, 255, 255, 255}) && w.req.IfIndex != 0 {
		cm = &ipv4.ControlMessage{IfIndex: w.req.IfIndex} // broadcast out of the interface it came in
	}
	w.s.replies.Add(1) // before the send: whoever sees the reply sees it counted
	// The reply's audit time is before the send: a client that gets it
	// and reads its boot file at once must find the reply earlier in the
	// audit than the read.
	sent := time.Now()
	var err error
	if w.withCM {
		_, err = w.pc.WriteTo(reply.ToBytes(), cm, net.UDPAddrFromAddrPort(dst))
	} else {
		_, err = w.conn.WriteTo(reply.ToBytes(), net.UDPAddrFromAddrPort(dst))
	}
	if err != nil {
		w.s.replies.Add(^uint64(0))
		w.s.writeErr.Add(1)
		return fmt.Errorf("dhcpd: reply to %v: %w", dst, err)
	}
	w.s.recordPacket(ctx, w.req, reply, reply.BootFileName, dst, sent)
	return nil
}

// messageAction is the audit action of a DHCP message type: its name in
// lower case ("discover", "offer", ...), without allocating for the
// types of RFC 2132.
func messageAction(t dhcpv4.MessageType) string {
	switch t {
	case dhcpv4.MessageTypeDiscover:
		return "discover"
	case dhcpv4.MessageTypeOffer:
		return "offer"
	case dhcpv4.MessageTypeRequest:
		return "request"
	case dhcpv4.MessageTypeDecline:
		return "decline"
	case dhcpv4.MessageTypeAck:
		return "ack"
	case dhcpv4.MessageTypeNak:
		return "nak"
	case dhcpv4.MessageTypeRelease:
		return "release"
	case dhcpv4.MessageTypeInform:
		return "inform"
	}
	return strings.ToLower(t.String())
}

// xidString formats a transaction ID as TransactionID.String does
// ("0x" and eight hex digits), with one allocation.
func xidString(x dhcpv4.TransactionID) string {
	const digits = "0123456789abcdef"
	b := [10]byte{'0', 'x'}
	for i, c := range x {
		b[2+2*i], b[3+2*i] = digits[c>>4], digits[c&0xf]
	}
	return string(b[:])
}
