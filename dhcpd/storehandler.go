package dhcpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Config configures a [StoreHandler].
type Config struct {
	// ServerIP is this server's address on the segment: the server
	// identifier (option 54), the next server (siaddr) of boot files and
	// the Server of new machines. Required.
	ServerIP netip.Addr
	// First and Last are the range new machines get addresses from.
	// Required unless Proxy.
	First, Last netip.Addr
	// Subnet gives the subnet mask (option 1); its network and broadcast
	// addresses are never handed out. Default: ServerIP/24.
	Subnet netip.Prefix
	// Router (option 3), DNS (option 6), LogServer (option 7, a syslog
	// receiver) and Domain (option 15) are sent when set.
	Router    netip.Addr
	DNS       []netip.Addr
	LogServer netip.Addr
	Domain    string
	// LeaseTime is the lease time (option 51), default one hour.
	LeaseTime time.Duration
	// Boot chooses boot files; nil means DefaultBootTable().
	Boot *BootTable
	// Proxy makes the handler a proxy DHCP server (PXE specification
	// 2.1): it answers PXE clients only, with boot information and no
	// address, beside the DHCP server that gives addresses. Serve it on
	// port 67 and on port 4011.
	Proxy bool
	// Limit bounds the new machines each interface or relay may create.
	Limit Limit
	// Recorder, when not nil, records pool exhaustion, limited sources,
	// declines and releases. Packets are recorded by the Server.
	Recorder audit.Recorder
	// Logger receives what goes wrong; nil means slog.Default().
	Logger *slog.Logger
}

// StoreHandler is the PXElator [Handler]: it answers DHCP and BOOTP
// clients from a [pxelator.Store].
//
// A machine the store knows always gets its own address back, with its
// host name (option 12). A new MAC gets the next free address of the
// range and its write to the store starts at once (a DirStore shows it
// under conf/<server-ip>/<ip>/); the OFFER does not wait for the write,
// the ACK does (RFC 2131 §4.3.1), so concurrent new machines share the
// store's syncs. Concurrent new machines never share an address. A full
// pool is logged and recorded, and the client gets no answer. A declined address is not handed out again and
// the machine that declined it moves to a new one. A release is recorded;
// the machine keeps its address, which is its own.
type StoreHandler struct {
	cfg   Config
	store pxelator.Store
	alloc *allocator
	limit *limiter
	boot  *BootTable
	mask  net.IPMask
	log   *slog.Logger

	waiters chan struct{}  // semaphore of REQUESTs waiting for a write
	waiting sync.WaitGroup // their goroutines

	fullLog, limitLog, busyLog                 atomic.Int64 // unix times of the last log lines
	created, limited, full, nack, busy, unsent atomic.Uint64
}

// HandlerStats counts what a [StoreHandler] did.
type HandlerStats struct {
	NewMachines uint64 // machines created
	Limited     uint64 // new MACs not answered because their source was over its Limit
	PoolFull    uint64 // new MACs not answered because the pool was full
	NAKs        uint64 // requests for an address that is not the machine's
	Busy        uint64 // new MACs not answered because the store was behind
}

// Stats returns the handler's counters.
func (h *StoreHandler) Stats() HandlerStats {
	return HandlerStats{NewMachines: h.created.Load(), Limited: h.limited.Load(), PoolFull: h.full.Load(), NAKs: h.nack.Load(), Busy: h.busy.Load()}
}

// NewStoreHandler returns a StoreHandler for the machines of store.
func NewStoreHandler(store pxelator.Store, cfg Config) (*StoreHandler, error) {
	if store == nil {
		return nil, errors.New("dhcpd: no store")
	}
	if !cfg.ServerIP.Is4() {
		return nil, fmt.Errorf("dhcpd: server IP %v is not IPv4", cfg.ServerIP)
	}
	if !cfg.Subnet.IsValid() {
		cfg.Subnet = netip.PrefixFrom(cfg.ServerIP, 24).Masked()
	}
	if !cfg.Subnet.Addr().Is4() {
		return nil, fmt.Errorf("dhcpd: subnet %v is not IPv4", cfg.Subnet)
	}
	if cfg.LeaseTime <= 0 {
		cfg.LeaseTime = time.Hour
	}
	h := &StoreHandler{cfg: cfg, store: store, boot: cfg.Boot, limit: newLimiter(cfg.Limit), waiters: make(chan struct{}, maxWrites),
		mask: net.CIDRMask(cfg.Subnet.Bits(), 32), log: cfg.Logger}
	if h.boot == nil {
		h.boot = DefaultBootTable()
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if !cfg.Proxy {
		a, err := newAllocator(store, cfg.ServerIP, cfg.Subnet, cfg.First, cfg.Last, h.log)
		if err != nil {
			return nil, err
		}
		if !cfg.Subnet.Contains(cfg.First) || !cfg.Subnet.Contains(cfg.Last) {
			return nil, fmt.Errorf("dhcpd: range %v-%v is not inside subnet %v", cfg.First, cfg.Last, cfg.Subnet)
		}
		h.alloc = a
	}
	return h, nil
}

// Flush waits until the new machines offered so far are written to the
// store and the REQUESTs waiting for them are answered, or until ctx is
// done. Call it after Server.Shutdown and before closing the store.
func (h *StoreHandler) Flush(ctx context.Context) error {
	if h.alloc == nil {
		return nil
	}
	done := make(chan struct{})
	go func() {
		h.alloc.inflight.Wait()
		h.waiting.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("dhcpd: flush: %w", ctx.Err())
	}
}

// ServeDHCP implements Handler.
func (h *StoreHandler) ServeDHCP(ctx context.Context, w ResponseWriter, req *Request) {
	if h.cfg.Proxy {
		h.serveProxy(ctx, w, req)
		return
	}
	if req.BOOTP {
		h.offer(ctx, w, req, 0)
		return
	}
	switch req.Type() {
	case dhcpv4.MessageTypeDiscover:
		h.offer(ctx, w, req, dhcpv4.MessageTypeOffer)
	case dhcpv4.MessageTypeRequest:
		h.request(ctx, w, req)
	case dhcpv4.MessageTypeDecline:
		h.decline(ctx, req)
	case dhcpv4.MessageTypeRelease:
		h.release(ctx, req)
	case dhcpv4.MessageTypeInform:
		h.inform(ctx, w, req)
	}
}

// machine returns the machine of the requesting MAC, creating it when it
// is new and the source is within its limit. With durable set, a new
// machine is in the store on return; else its write may be under way.
func (h *StoreHandler) machine(ctx context.Context, req *Request, durable bool) (pxelator.Machine, bool) {
	mac := req.MAC()
	if m, err := h.store.ByMAC(ctx, mac); err == nil {
		return m, true
	}
	src := "if:" + req.IfName
	if req.Relay.IsValid() {
		src = "relay:" + req.Peer.Addr().String() // the sender, not the forgeable giaddr
	}
	if !h.limit.allow(src, time.Now()) {
		h.limited.Add(1)
		if now := time.Now().Unix(); h.limitLog.Swap(now) < now-10 { // at most one line per 10 s
			h.log.Warn("dhcpd: new machines over the source's limit, not answering", "mac", mac.String(),
				"source", src, "limited", h.limited.Load())
		}
		h.event(ctx, req, "limited", netip.Addr{}, map[string]any{"source": src})
		return pxelator.Machine{}, false
	}
	m, created, err := h.alloc.lease(ctx, mac, pxelator.Machine{Server: h.cfg.ServerIP}, durable)
	switch {
	case errors.Is(err, ErrPoolFull):
		h.full.Add(1)
		if now := time.Now().Unix(); h.fullLog.Swap(now) < now-10 { // at most one line per 10 s
			h.log.Warn("dhcpd: address pool is full, not answering", "mac", mac.String(),
				"range", h.cfg.First.String()+"-"+h.cfg.Last.String())
		}
		h.event(ctx, req, "pool-full", netip.Addr{}, map[string]any{"range": h.cfg.First.String() + "-" + h.cfg.Last.String()})
		return m, false
	case errors.Is(err, ErrBusy):
		h.busy.Add(1)
		if now := time.Now().Unix(); h.busyLog.Swap(now) < now-10 { // at most one line per 10 s
			h.log.Warn("dhcpd: the store is behind, not offering new addresses now", "mac", mac.String(), "busy", h.busy.Load())
		}
		return m, false
	case err != nil:
		h.log.Error("dhcpd: cannot give an address", "mac", mac.String(), "err", err)
		return m, false
	}
	if created {
		h.created.Add(1)
		h.log.Info("dhcpd: new machine", "mac", mac.String(), "ip", m.IP)
		h.event(ctx, req, "new-machine", m.IP, nil)
	}
	return m, true
}

func (h *StoreHandler) event(ctx context.Context, req *Request, action string, ip netip.Addr, f map[string]any) {
	audit.Record(ctx, h.cfg.Recorder, audit.Event{Package: "dhcpd", Action: action, IP: ip, MAC: req.MAC(), Ident: req.MAC().String(), Fields: f})
}

// offer answers a DISCOVER with an OFFER, or a BOOTP request (t == 0).
func (h *StoreHandler) offer(ctx context.Context, w ResponseWriter, req *Request, t dhcpv4.MessageType) {
	m, ok := h.machine(ctx, req, t == 0) // a BOOTP reply is final: durable first
	if !ok {
		return
	}
	h.write(ctx, w, req, h.reply(req, m, t, true))
}

// request answers a REQUEST: ACK with the machine's own address, NAK when
// the client asks for another one, nothing when it chose another server.
func (h *StoreHandler) request(ctx context.Context, w ResponseWriter, req *Request) {
	p := req.Packet
	if sid := ip4(p.ServerIdentifier()); sid.IsValid() && sid != h.cfg.ServerIP {
		return // SELECTING another server's offer
	}
	if wait := h.alloc.waitFor(req.MAC()); wait != nil {
		// A new machine still being written: answer once it is durable,
		// without holding a worker meanwhile.
		select {
		case h.waiters <- struct{}{}:
			h.waiting.Add(1)
			go func() {
				defer h.waiting.Done()
				defer func() {
					<-h.waiters
					if p := recover(); p != nil {
						h.log.Error("dhcpd: panic answering a REQUEST", "mac", req.MAC().String(), "panic", p)
					}
				}()
				if m, err := wait(ctx); err == nil {
					h.ack(ctx, w, req, m)
				}
			}()
		default: // the store is far behind: the client will ask again
			h.busy.Add(1)
		}
		return
	}
	m, ok := h.machine(ctx, req, true)
	if !ok {
		return
	}
	h.ack(ctx, w, req, m)
}

// ack answers a REQUEST of machine m: ACK, or NAK when the client asks
// for an address that is not the machine's.
func (h *StoreHandler) ack(ctx context.Context, w ResponseWriter, req *Request, m pxelator.Machine) {
	p := req.Packet
	want := ip4(p.RequestedIPAddress())
	if !want.IsValid() {
		want = ip4(p.ClientIPAddr)
	}
	if want.IsValid() && want != m.IP {
		h.nack.Add(1)
		nak := h.base(req, dhcpv4.MessageTypeNak)
		nak.UpdateOption(dhcpv4.OptMessage(fmt.Sprintf("address %v is not yours, %v is", want, m.IP)))
		h.write(ctx, w, req, nak)
		return
	}
	h.write(ctx, w, req, h.reply(req, m, dhcpv4.MessageTypeAck, true))
}

// decline takes a declined address out of use: the machine moves to a
// new address and this one is never handed out again.
func (h *StoreHandler) decline(ctx context.Context, req *Request) {
	p := req.Packet
	if sid := ip4(p.ServerIdentifier()); sid.IsValid() && sid != h.cfg.ServerIP {
		return
	}
	ip := ip4(p.RequestedIPAddress())
	m, err := h.store.ByMAC(ctx, req.MAC())
	if err != nil || !ip.IsValid() || ip != m.IP {
		return
	}
	h.alloc.decline(ip)
	h.log.Warn("dhcpd: address declined", "mac", m.MAC.String(), "ip", ip)
	if h.alloc.inRange(ip) { // a fixed address set by hand stays: a person must fix it
		moved, err := h.alloc.move(ctx, m) // Put replaces: the machine is never absent
		if err != nil {
			h.log.Error("dhcpd: moving a declined machine", "mac", m.MAC.String(), "err", err)
		} else {
			m = moved
		}
	}
	h.event(ctx, req, "declined", ip, map[string]any{"moved-to": m.IP.String()})
}

// release records a release; the machine keeps its address.
func (h *StoreHandler) release(ctx context.Context, req *Request) {
	if sid := ip4(req.Packet.ServerIdentifier()); sid.IsValid() && sid != h.cfg.ServerIP {
		return
	}
	h.event(ctx, req, "released", ip4(req.Packet.ClientIPAddr), nil)
}

// inform answers an INFORM with the options, without an address.
func (h *StoreHandler) inform(ctx context.Context, w ResponseWriter, req *Request) {
	m, err := h.store.ByMAC(ctx, req.MAC())
	if err != nil {
		m = pxelator.Machine{MAC: req.MAC()}
	}
	r := h.reply(req, m, dhcpv4.MessageTypeAck, false)
	r.YourIPAddr = net.IPv4zero
	r.Options.Del(dhcpv4.OptionIPAddressLeaseTime)
	h.write(ctx, w, req, r)
}

// serveProxy answers PXE clients with boot information only: an OFFER to
// a DISCOVER on port 67, an ACK to a REQUEST (on port 4011, or to us).
func (h *StoreHandler) serveProxy(ctx context.Context, w ResponseWriter, req *Request) {
	if !req.PXE.IsPXE() || req.BOOTP {
		return
	}
	var t dhcpv4.MessageType
	switch req.Type() {
	case dhcpv4.MessageTypeDiscover:
		t = dhcpv4.MessageTypeOffer
	case dhcpv4.MessageTypeRequest:
		sid := ip4(req.Packet.ServerIdentifier())
		if sid.IsValid() && sid != h.cfg.ServerIP || !sid.IsValid() && req.Local.Port() != PXEPort {
			return // a REQUEST for the DHCP server beside us
		}
		t = dhcpv4.MessageTypeAck
	default:
		return
	}
	m, err := h.store.ByMAC(ctx, req.MAC())
	if err != nil {
		m = pxelator.Machine{MAC: req.MAC()}
	}
	r := h.base(req, t)
	if !h.setBoot(req, m, r) {
		return
	}
	h.write(ctx, w, req, r)
}

// base returns a reply of type t (0 for BOOTP) with the fields every reply
// has.
func (h *StoreHandler) base(req *Request, t dhcpv4.MessageType) *dhcpv4.DHCPv4 {
	p := req.Packet
	r := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        p.HWType,
		TransactionID: p.TransactionID,
		Flags:         p.Flags,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: p.GatewayIPAddr,
		ClientHWAddr:  p.ClientHWAddr,
		Options:       make(dhcpv4.Options),
	}
	if r.GatewayIPAddr == nil {
		r.GatewayIPAddr = net.IPv4zero
	}
	if t != 0 {
		r.ClientIPAddr = p.ClientIPAddr
		r.UpdateOption(dhcpv4.OptMessageType(t))
		r.UpdateOption(dhcpv4.OptServerIdentifier(h.cfg.ServerIP.AsSlice()))
		for _, c := range []dhcpv4.OptionCode{dhcpv4.OptionRelayAgentInformation, dhcpv4.OptionClientIdentifier} {
			if v := p.Options.Get(c); v != nil { // RFC 3046, RFC 6842
				r.Options.Update(dhcpv4.OptGeneric(c, v))
			}
		}
	}
	return r
}

// reply returns an OFFER or ACK (or a BOOTP reply, t == 0) for machine m.
func (h *StoreHandler) reply(req *Request, m pxelator.Machine, t dhcpv4.MessageType, boot bool) *dhcpv4.DHCPv4 {
	r := h.base(req, t)
	r.YourIPAddr = m.IP.AsSlice()
	r.UpdateOption(dhcpv4.OptSubnetMask(h.mask))
	if h.cfg.Router.IsValid() {
		r.UpdateOption(dhcpv4.OptRouter(h.cfg.Router.AsSlice()))
	}
	if len(h.cfg.DNS) > 0 {
		ips := make([]net.IP, len(h.cfg.DNS))
		for i, a := range h.cfg.DNS {
			ips[i] = a.AsSlice()
		}
		r.UpdateOption(dhcpv4.OptDNS(ips...))
	}
	if h.cfg.LogServer.IsValid() {
		r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionLogServer, h.cfg.LogServer.AsSlice()))
	}
	if m.Hostname != "" {
		r.UpdateOption(dhcpv4.OptHostName(m.Hostname))
	}
	if h.cfg.Domain != "" {
		r.UpdateOption(dhcpv4.OptDomainName(h.cfg.Domain))
	}
	if t != 0 {
		r.UpdateOption(dhcpv4.OptIPAddressLeaseTime(h.cfg.LeaseTime))
	}
	if boot {
		h.setBoot(req, m, r)
	}
	return r
}

// setBoot puts the boot file of m into r and reports whether it has one.
func (h *StoreHandler) setBoot(req *Request, m pxelator.Machine, r *dhcpv4.DHCPv4) bool {
	file := h.boot.Lookup(req.PXE, m, h.cfg.ServerIP)
	if file == "" {
		return false
	}
	r.BootFileName = file
	r.ServerIPAddr = h.cfg.ServerIP.AsSlice()
	switch {
	case req.PXE.IsHTTP():
		r.UpdateOption(dhcpv4.OptClassIdentifier(ClassHTTP)) // UEFI HTTP boot needs it echoed
	case req.PXE.Class == ClassPXE:
		r.UpdateOption(dhcpv4.OptClassIdentifier(ClassPXE))
		// PXE specification: vendor options with PXE_DISCOVERY_CONTROL = 8,
		// boot the file named in the reply without boot server discovery.
		// Without it, UEFI firmware (EDK2) takes a reply that says PXEClient
		// as a BINL offer and asks port 4011 for the file.
		r.UpdateOption(dhcpv4.OptGeneric(dhcpv4.OptionVendorSpecificInformation, []byte{6, 1, 8, 255}))
	}
	if req.Packet.IsOptionRequested(dhcpv4.OptionBootfileName) {
		r.UpdateOption(dhcpv4.OptBootFileName(file))
	}
	if req.Packet.IsOptionRequested(dhcpv4.OptionTFTPServerName) {
		r.UpdateOption(dhcpv4.OptTFTPServerName(h.cfg.ServerIP.String()))
	}
	return true
}

func (h *StoreHandler) write(ctx context.Context, w ResponseWriter, req *Request, r *dhcpv4.DHCPv4) {
	if err := w.Write(ctx, r); err != nil {
		if c := h.unsent.Add(1); c&(c-1) == 0 { // log the 1st, 2nd, 4th, 8th, ... only
			h.log.Warn("dhcpd: reply not sent", "mac", req.MAC().String(), "err", err, "count", c)
		}
	}
}

// ip4 converts a net.IP to an IPv4 netip.Addr; 0.0.0.0 and nil are
// invalid.
func ip4(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok || a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}
