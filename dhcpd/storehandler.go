package dhcpd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Defaults of [Config].
const (
	// DefaultOfferHold is how long an OFFER to a new MAC keeps its
	// address for it while other addresses are free: longer than PXE
	// firmware takes to REQUEST, which it does within seconds.
	DefaultOfferHold = 30 * time.Second
	// DefaultQuarantine is how long a declined address is not handed
	// out: the default lease time, so that a client that declined its
	// address by mistake, or whose DECLINE was forged, has let it go
	// before another one gets it.
	DefaultQuarantine = time.Hour
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
	// Limit bounds the new machines the clients of each interface, and
	// the relays of each interface, may create; the zero Limit is
	// DefaultBurst and DefaultRate.
	Limit Limit
	// Relays are the addresses relay agents send from. A relayed request
	// (giaddr set) is answered only when the address it came from is in
	// one of them; with none, relayed requests are dropped. The source
	// address is checked, not giaddr, which the packet itself claims.
	Relays []netip.Prefix
	// OfferHold is how long an OFFER to a new MAC keeps its address
	// for it while other addresses are free; default DefaultOfferHold.
	OfferHold time.Duration
	// Quarantine is how long a declined address is not handed out;
	// default DefaultQuarantine.
	Quarantine time.Duration
	// Recorder, when not nil, records new machines, pool exhaustion,
	// limited sources, machines taken back, declines and releases.
	// Packets are recorded by the Server.
	Recorder audit.Recorder
	// Logger receives what goes wrong; nil means slog.Default(). Lines
	// that packets cause are written at most once per 10 s each, with
	// the count of those held back.
	Logger *slog.Logger
}

// StoreHandler is the PXElator [Handler]: it answers DHCP and BOOTP
// clients from a [pxelator.Store].
//
// A machine the store knows always gets its own address back, with its
// host name (option 12). A new MAC is offered the next free address of
// the range, held for it in memory only (Config.OfferHold): nothing is
// written before the client REQUESTs the address, so DISCOVERs from
// random MACs, however many, write nothing, and once every address is
// taken or offered the oldest offer gives way to the newest. The REQUEST
// writes the machine (a DirStore shows it under conf/<server-ip>/<ip>/,
// with AttrCreated) and the ACK leaves once it is durable (RFC 2131
// §4.3.1); concurrent REQUESTs share the store's syncs. New machines are
// limited per interface (Config.Limit). A full pool takes back machines
// that DHCP created, that nobody touched and whose lease has run out;
// when there are none it is logged and recorded, and the client gets no
// answer.
//
// A REQUEST of a client the store does not know gets no answer unless it
// selects this server (RFC 2131 §4.3.2: an INIT-REBOOT, RENEWING or
// REBINDING client of another server must hear nothing from us). A
// DECLINE is believed only from a client for the address of the lease
// this server gave it and that is still running; the address is then
// quarantined (Config.Quarantine), and the machine, if DHCP's own, is
// removed so that it gets a new address. A release is recorded; the
// machine keeps its address, which is its own. Relayed requests are
// answered only from Config.Relays.
type StoreHandler struct {
	cfg   Config
	store pxelator.Store
	alloc *allocator
	limit *limiter
	boot  *BootTable
	mask  net.IPMask
	log   *slog.Logger

	logs struct{ full, limit, busy, store, relay, mac, decline, unsent, panic throttle }

	created, limited, full, nack, busy, unsent                 atomic.Uint64
	badRelay, silent, reclaimed, declined, declineIgnored, bad atomic.Uint64
}

// HandlerStats counts what a [StoreHandler] did.
type HandlerStats struct {
	NewMachines    uint64 // machines created
	Limited        uint64 // new machines not answered because their interface was over its Limit
	PoolFull       uint64 // new MACs not answered because the pool was full
	NAKs           uint64 // requests for an address that is not the machine's
	Busy           uint64 // new machines not answered because the store was behind
	Reclaimed      uint64 // expired machines of DHCP's own taken back for new ones
	Silent         uint64 // REQUESTs of clients the store does not know, for another server (RFC 2131 §4.3.2)
	BadRelays      uint64 // relayed requests from addresses that are not Config.Relays
	BadMACs        uint64 // new clients with a hardware address the store cannot hold
	Declined       uint64 // DECLINEs believed
	DeclineIgnored uint64 // DECLINEs not believed
}

// Stats returns the handler's counters.
func (h *StoreHandler) Stats() HandlerStats {
	return HandlerStats{NewMachines: h.created.Load(), Limited: h.limited.Load(), PoolFull: h.full.Load(), NAKs: h.nack.Load(),
		Busy: h.busy.Load(), Reclaimed: h.reclaimed.Load(), Silent: h.silent.Load(), BadRelays: h.badRelay.Load(),
		BadMACs: h.bad.Load(), Declined: h.declined.Load(), DeclineIgnored: h.declineIgnored.Load()}
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
	if cfg.OfferHold <= 0 {
		cfg.OfferHold = DefaultOfferHold
	}
	if cfg.Quarantine <= 0 {
		cfg.Quarantine = DefaultQuarantine
	}
	h := &StoreHandler{cfg: cfg, store: store, boot: cfg.Boot, limit: newLimiter(cfg.Limit),
		mask: net.CIDRMask(cfg.Subnet.Bits(), 32), log: cfg.Logger}
	if h.boot == nil {
		h.boot = DefaultBootTable()
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if !cfg.Proxy {
		a, err := newAllocator(store, cfg)
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

// Flush waits until the new machines being written are in the store and
// their REQUESTs answered, or until ctx is done. Call it after
// Server.Shutdown and before closing the store.
func (h *StoreHandler) Flush(ctx context.Context) error {
	if h.alloc == nil {
		return nil
	}
	done := make(chan struct{})
	go func() {
		h.alloc.inflight.Wait()
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
	if req.Relay.IsValid() && !h.isRelay(req.Peer.Addr()) {
		h.badRelay.Add(1)
		h.logs.relay.log(h.log, slog.LevelWarn, "dhcpd: relayed request from an address that is not a relay (Relays, -dhcp-relays), not answering",
			"peer", req.Peer.Addr(), "giaddr", req.Relay, "count", h.badRelay.Load())
		return
	}
	if h.cfg.Proxy {
		h.serveProxy(ctx, w, req)
		return
	}
	if req.BOOTP {
		h.bootp(ctx, w, req)
		return
	}
	switch req.Type() {
	case dhcpv4.MessageTypeDiscover:
		h.discover(ctx, w, req)
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

// isRelay reports whether a is an address of Config.Relays.
func (h *StoreHandler) isRelay(a netip.Addr) bool {
	for _, p := range h.cfg.Relays {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// known returns the machine of the requesting MAC from the store; ok is
// false when the store does not know it (found false) or fails.
func (h *StoreHandler) known(ctx context.Context, req *Request) (m pxelator.Machine, found bool, ok bool) {
	m, err := h.store.ByMAC(ctx, req.MAC())
	switch {
	case err == nil:
		return m, true, true
	case errors.Is(err, pxelator.ErrNotFound):
		return m, false, true
	}
	h.logs.store.log(h.log, slog.LevelError, "dhcpd: store", "mac", req.MAC().String(), "err", err)
	return m, false, false
}

// storable reports whether the store can hold a machine with the
// requesting hardware address.
func (h *StoreHandler) storable(req *Request) bool {
	if err := (pxelator.Machine{MAC: req.MAC(), IP: h.cfg.ServerIP}).Validate(); err != nil {
		h.bad.Add(1)
		h.logs.mac.log(h.log, slog.LevelWarn, "dhcpd: a hardware address the store cannot hold, not answering",
			"mac", req.MAC().String(), "length", len(req.MAC()), "count", h.bad.Load())
		return false
	}
	return true
}

// offerNew returns the machine offered to a new MAC: its address is held
// for it, nothing is written.
func (h *StoreHandler) offerNew(ctx context.Context, req *Request) (pxelator.Machine, bool) {
	if !h.storable(req) {
		return pxelator.Machine{}, false
	}
	ip, err := h.alloc.offer(ctx, req.MAC(), time.Now())
	if err != nil { // the pool is full
		h.full.Add(1)
		rng := h.cfg.First.String() + "-" + h.cfg.Last.String()
		h.logs.full.log(h.log, slog.LevelWarn, "dhcpd: address pool is full, not answering", "mac", req.MAC().String(), "range", rng,
			"count", h.full.Load())
		h.event(ctx, req, "pool-full", netip.Addr{}, map[string]any{"range": rng})
		return pxelator.Machine{}, false
	}
	return pxelator.Machine{MAC: req.MAC(), IP: ip, Server: h.cfg.ServerIP}, true
}

// create writes the new machine whose address take returned, within
// the limit of its interface and what the store keeps up with, and then
// calls reply with it from another goroutine. A client that is limited
// or refused gets no answer and keeps its offer: it will ask again.
func (h *StoreHandler) create(ctx context.Context, w ResponseWriter, req *Request, hd *hold, reply func(pxelator.Machine)) {
	now := time.Now()
	src := source{ifIndex: req.IfIndex, relayed: req.Relay.IsValid()}
	if !h.limit.allow(src, now) {
		h.alloc.release(hd, now)
		h.limited.Add(1)
		h.logs.limit.log(h.log, slog.LevelWarn, "dhcpd: new machines over the interface's limit, not answering", "mac", req.MAC().String(),
			"iface", req.IfName, "relayed", src.relayed, "count", h.limited.Load())
		h.event(ctx, req, "limited", netip.Addr{}, map[string]any{"iface": req.IfName, "relayed": src.relayed})
		return
	}
	if !h.alloc.admit(now) {
		h.alloc.release(hd, now)
		h.busy.Add(1)
		h.logs.busy.log(h.log, slog.LevelWarn, "dhcpd: the store is behind, not taking new machines now", "mac", req.MAC().String(),
			"count", h.busy.Load())
		return
	}
	m := pxelator.Machine{MAC: hd.mac, Server: h.cfg.ServerIP}
	m.Set(AttrCreated, now.UTC().Format(time.RFC3339))
	h.alloc.write(ctx, hd, m, func(r written) {
		defer h.recover(req)
		switch {
		case r.err == nil:
			h.created.Add(1)
			if r.reclaimed != nil {
				h.reclaimed.Add(1)
				h.log.Info("dhcpd: took back a machine whose lease ran out", "mac", r.reclaimed.String(), "ip", r.m.IP)
				h.event(ctx, req, "reclaimed", r.m.IP, map[string]any{"from": r.reclaimed.String()})
			}
			h.log.Info("dhcpd: new machine", "mac", r.m.MAC.String(), "ip", r.m.IP)
			h.event(ctx, req, "new-machine", r.m.IP, nil)
			reply(r.m)
		case errors.Is(r.err, errTaken):
			h.nak(ctx, w, req, fmt.Sprintf("address %v is not available", r.m.IP))
		default:
			h.logs.store.log(h.log, slog.LevelError, "dhcpd: cannot write a new machine", "mac", r.m.MAC.String(), "ip", r.m.IP, "err", r.err)
		}
	})
}

// recover logs a panic of the goroutine answering req.
func (h *StoreHandler) recover(req *Request) {
	if p := recover(); p != nil {
		h.logs.panic.log(h.log, slog.LevelError, "dhcpd: panic answering a request", "mac", req.MAC().String(), "panic", p)
	}
}

func (h *StoreHandler) event(ctx context.Context, req *Request, action string, ip netip.Addr, f map[string]any) {
	audit.Record(ctx, h.cfg.Recorder, audit.Event{Package: "dhcpd", Action: action, IP: ip, MAC: req.MAC(), Ident: req.MAC().String(), Fields: f})
}

// discover answers a DISCOVER with an OFFER.
func (h *StoreHandler) discover(ctx context.Context, w ResponseWriter, req *Request) {
	m, found, ok := h.known(ctx, req)
	if !ok {
		return
	}
	if !found {
		if m, ok = h.offerNew(ctx, req); !ok {
			return
		}
	}
	h.write(ctx, w, req, h.reply(req, m, dhcpv4.MessageTypeOffer, true))
}

// bootp answers a BOOTP request. A BOOTP reply is final: a new machine
// is written before it leaves.
func (h *StoreHandler) bootp(ctx context.Context, w ResponseWriter, req *Request) {
	m, found, ok := h.known(ctx, req)
	if !ok {
		return
	}
	if found {
		h.write(ctx, w, req, h.reply(req, m, 0, true))
		return
	}
	if m, ok = h.offerNew(ctx, req); !ok {
		return
	}
	hd, err := h.alloc.take(ctx, req.MAC(), m.IP, time.Now())
	if err != nil {
		return
	}
	h.create(ctx, w, req, hd, func(m pxelator.Machine) { h.write(ctx, w, req, h.reply(req, m, 0, true)) })
}

// request answers a REQUEST: ACK with the machine's own address, NAK when
// the client asks for another one, nothing when it chose another server
// or is a client of another server (RFC 2131 §4.3.2).
func (h *StoreHandler) request(ctx context.Context, w ResponseWriter, req *Request) {
	sid := ip4(req.Packet.ServerIdentifier())
	if sid.IsValid() && sid != h.cfg.ServerIP {
		return // SELECTING another server's offer
	}
	m, found, ok := h.known(ctx, req)
	switch {
	case !ok:
		return
	case found:
		h.ack(ctx, w, req, m)
		return
	case !sid.IsValid():
		// INIT-REBOOT, RENEWING or REBINDING of a client this server has
		// no record of: it MUST remain silent.
		h.silent.Add(1)
		return
	case !h.storable(req):
		return
	}
	// SELECTING this server: a new machine.
	hd, err := h.alloc.take(ctx, req.MAC(), ip4(req.Packet.RequestedIPAddress()), time.Now())
	switch {
	case errors.Is(err, errWriting):
		if m, found, _ := h.known(ctx, req); found { // written just now
			h.ack(ctx, w, req, m)
		} // else the ACK of the first REQUEST answers this one too
		return
	case err != nil:
		h.nak(ctx, w, req, fmt.Sprintf("address %v is not available", ip4(req.Packet.RequestedIPAddress())))
		return
	}
	h.create(ctx, w, req, hd, func(m pxelator.Machine) { h.ack(ctx, w, req, m) })
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
		h.nak(ctx, w, req, fmt.Sprintf("address %v is not yours, %v is", want, m.IP))
		return
	}
	h.alloc.leases.set(m.MAC, m.IP, time.Now().Add(h.cfg.LeaseTime))
	h.write(ctx, w, req, h.reply(req, m, dhcpv4.MessageTypeAck, true))
}

func (h *StoreHandler) nak(ctx context.Context, w ResponseWriter, req *Request, msg string) {
	h.nack.Add(1)
	nak := h.base(req, dhcpv4.MessageTypeNak)
	nak.UpdateOption(dhcpv4.OptMessage(msg))
	h.write(ctx, w, req, nak)
}

// decline takes a declined address out of use for the quarantine, when
// it is believed: it names this server, and it is the address of a lease
// this server gave the client and that still runs. A machine of DHCP's
// own is removed, so that it gets another address when it asks again; a
// machine a person set up keeps its address, and the conflict is logged
// for that person to settle.
func (h *StoreHandler) decline(ctx context.Context, req *Request) {
	now := time.Now()
	ip := ip4(req.Packet.RequestedIPAddress())
	m, found, _ := h.known(ctx, req)
	l, leased := h.alloc.leases.get(req.MAC())
	if ip4(req.Packet.ServerIdentifier()) != h.cfg.ServerIP || !found || !ip.IsValid() || ip != m.IP ||
		!leased || l.ip != ip || now.After(l.until) {
		h.declineIgnored.Add(1)
		h.logs.decline.log(h.log, slog.LevelWarn, "dhcpd: DECLINE not believed: not for a running lease this server gave",
			"mac", req.MAC().String(), "ip", ip, "count", h.declineIgnored.Load())
		return
	}
	h.declined.Add(1)
	till := now.Add(h.cfg.Quarantine)
	if l.until.After(till) { // a forged DECLINE's victim may use the address till its lease ends
		till = l.until
	}
	h.alloc.quarantine(ip, till)
	h.alloc.leases.drop(m.MAC)
	f := map[string]any{"quarantine": h.cfg.Quarantine.String()}
	if h.alloc.dhcpOwn(m) {
		if err := h.store.Delete(ctx, m.MAC); err != nil && !errors.Is(err, pxelator.ErrNotFound) {
			h.logs.store.log(h.log, slog.LevelError, "dhcpd: removing a machine that declined its address", "mac", m.MAC.String(), "err", err)
		}
		f["removed"] = true
		h.log.Warn("dhcpd: address declined: quarantined, the machine will get another one", "mac", m.MAC.String(), "ip", ip)
	} else {
		h.logs.decline.log(h.log, slog.LevelWarn, "dhcpd: address declined by a machine set up by hand: something else uses it; give the machine another address",
			"mac", m.MAC.String(), "ip", ip)
	}
	h.event(ctx, req, "declined", ip, f)
}

// release records a release; the machine keeps its address. A release
// does not end the lease here: the lease of a machine that comes back is
// as long, and a forged release ends nothing early.
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
		h.logs.unsent.log(h.log, slog.LevelWarn, "dhcpd: reply not sent", "mac", req.MAC().String(), "err", err, "count", h.unsent.Add(1))
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
