package dnsd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Defaults for the zero fields of a [Config].
const (
	DefaultTTL            = 5 // seconds
	DefaultCommandWindow  = 10 * time.Second
	DefaultCommandTimeout = 3 * time.Second
	DefaultForwardTimeout = 2 * time.Second
)

// ednsSize is the UDP payload size the Handler advertises (the DNS flag
// day 2020 value, which avoids IP fragmentation).
const ednsSize = 1232

// A Handler answers DNS queries: it is [dns.Handler], so that the
// middleware of package github.com/miekg/dns and this package's wrap
// each other's handlers.
type Handler = dns.Handler

// HandlerFunc adapts a function to a [Handler]; it is [dns.HandlerFunc].
type HandlerFunc = dns.HandlerFunc

// Config configures a [StoreHandler].
type Config struct {
	// Zone is the zone the handler is authoritative for, e.g. "pxe".
	Zone string
	// Store holds the machines whose names are answered.
	Store pxelator.Store
	// Server is the address of this name server, answered for ns.<Zone>
	// and given as glue with NS answers. Optional.
	Server netip.Addr
	// Networks are the IPv4 networks whose in-addr.arpa names are
	// answered with PTR records. Each is rounded down to an octet
	// boundary (a /20 serves the reverse zone of its /16).
	Networks []netip.Prefix
	// TTL of the answers in seconds; 0 means DefaultTTL. The SOA minimum
	// (the TTL of negative answers) is the same.
	TTL uint32

	// CommandZone is the zone of command names; it must be inside Zone.
	// The default is "do.<Zone>".
	CommandZone string
	// Commands are off, every name under CommandZone REFUSED, unless
	// at least one of CommandTokens, CommandSelf and CommandClients
	// allows them (see the package documentation for what each lets
	// through). A query that none allows is REFUSED, counted
	// ([StoreHandler.Stats]) and recorded.
	//
	// CommandTokens, when not nil, runs a command from a name that
	// carries a valid token: <command>.<hostname>.<token>.<CommandZone>.
	// Destructive commands run from such names only.
	CommandTokens *Tokens
	// CommandSelf runs the commands that are not destructive from a bare
	// name, <command>.<hostname>.<CommandZone>, when the query comes from
	// the machine's own address, over TCP.
	CommandSelf bool
	// CommandClients runs the commands that are not destructive from a
	// bare name when the query comes from these networks, over TCP; nil
	// allows none.
	CommandClients []netip.Prefix
	// CommandWindow is how long after a command ran a bare query for the
	// same command and machine is answered without running it again; 0
	// means DefaultCommandWindow. A name with a token runs once while the
	// token is valid.
	CommandWindow time.Duration
	// CommandTimeout bounds one run of a command; 0 means
	// DefaultCommandTimeout.
	CommandTimeout time.Duration

	// Forward lists upstream servers (host:port) for names outside the
	// handler's zones. Without it, or for clients outside
	// ForwardClients, such names are REFUSED.
	Forward []string
	// ForwardClients are the networks whose clients may use Forward.
	ForwardClients []netip.Prefix
	// ForwardTimeout bounds one exchange with an upstream; 0 means
	// DefaultForwardTimeout.
	ForwardTimeout time.Duration

	// Recorder, when not nil, records every query and every command run.
	Recorder audit.Recorder
	// Logger receives command runs and errors; nil means slog.Default().
	Logger *slog.Logger
}

// StoreHandler is the PXElator [Handler]: it answers authoritatively for
// a zone from a [pxelator.Store] and runs commands asked for by name.
// Create it with [NewStoreHandler] and Close it after use; it is safe for
// concurrent use.
type StoreHandler struct {
	store   pxelator.Store
	zone    string // canonical and fully qualified: "pxe."
	czone   string // "do.pxe."
	nsName  string // "ns.pxe."
	mbox    string // "hostmaster.pxe."
	server  netip.Addr
	reverse []string // reverse zones: "0.10.in-addr.arpa."
	fast    fastZones
	ttl     uint32
	base    uint32 // serial at generation 0
	serial  atomic.Uint32

	tokens     *Tokens
	cmdSelf    bool
	cmdClients []netip.Prefix
	cmds       commands
	fwd        *forwarder

	audit  audit.Recorder
	log    *slog.Logger
	rcodes [maxRcode + 1]atomic.Uint64 // answers by response code; the last counts the larger ones

	closeOnce sync.Once
	closed    chan struct{}      // closed by Close: commands and forwards stop
	stopWatch context.CancelFunc // stops following the store
	watching  chan struct{}      // closed when the store is no longer followed
}

// NewStoreHandler returns a StoreHandler for cfg. It follows the store's
// changes (for the SOA serial) until Close.
func NewStoreHandler(cfg Config) (*StoreHandler, error) {
	if cfg.Store == nil {
		return nil, errors.New("dnsd: config: no store")
	}
	zone, err := zoneName(cfg.Zone)
	if err != nil {
		return nil, err
	}
	czone := "do." + zone
	if cfg.CommandZone != "" {
		if czone, err = zoneName(cfg.CommandZone); err != nil {
			return nil, err
		}
		if czone == zone || !inZone(czone, zone) {
			return nil, fmt.Errorf("dnsd: config: command zone %q is not inside zone %q", czone, zone)
		}
	}
	if cfg.Server.IsValid() && !cfg.Server.Unmap().Is4() {
		return nil, fmt.Errorf("dnsd: config: server address %v is not IPv4", cfg.Server)
	}
	h := &StoreHandler{
		store:      cfg.Store,
		zone:       zone,
		czone:      czone,
		nsName:     "ns." + zone,
		mbox:       "hostmaster." + zone,
		server:     cfg.Server.Unmap(),
		ttl:        cmp.Or(cfg.TTL, DefaultTTL),
		base:       uint32(time.Now().Unix()),
		tokens:     cfg.CommandTokens,
		cmdSelf:    cfg.CommandSelf,
		cmdClients: cfg.CommandClients,
		cmds: commands{
			window:  cmp.Or(cfg.CommandWindow, DefaultCommandWindow),
			timeout: cmp.Or(cfg.CommandTimeout, DefaultCommandTimeout),
		},
		audit:    cfg.Recorder,
		log:      cfg.Logger,
		closed:   make(chan struct{}),
		watching: make(chan struct{}),
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	for _, p := range cfg.Networks {
		rz, err := reverseZone(p)
		if err != nil {
			return nil, err
		}
		h.reverse = append(h.reverse, rz)
	}
	h.fast = newFastZones(h.zone, h.czone, h.reverse)
	if len(cfg.Forward) > 0 {
		h.fwd = newForwarder(cfg.Forward, cfg.ForwardClients, cmp.Or(cfg.ForwardTimeout, DefaultForwardTimeout))
	}
	h.serial.Store(h.base)
	watch, stop := context.WithCancel(context.Background())
	h.stopWatch = stop
	gens := cfg.Store.Watch(watch)
	go func() {
		defer close(h.watching)
		for gen := range gens {
			h.serial.Store(h.base + uint32(gen))
		}
	}()
	return h, nil
}

// Close stops following the store (the SOA serial stays where it is) and
// cancels the commands and forwarded queries in flight; later ones fail
// at once. Names are still answered from the store. Close returns nil.
func (h *StoreHandler) Close() error {
	h.closeOnce.Do(func() {
		close(h.closed)
		h.stopWatch()
		<-h.watching
	})
	return nil
}

// callContext returns the context of one command run or forwarded query:
// ctx's, canceled too when h is closed. Call cancel when it is over.
func (h *StoreHandler) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	select {
	case <-h.closed:
		cancel()
		return ctx, cancel
	default:
	}
	go func() {
		select {
		case <-h.closed:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// Serial returns the serial of the zones' SOA records: the time the
// handler was made (in seconds since 1970) plus the store's generation, so
// that it grows with every change of the store and, as long as the store
// changes less than once a second on average, across restarts too.
func (h *StoreHandler) Serial() uint32 { return h.serial.Load() }

// query is what the handler learnt about one query, for the audit record.
type query struct {
	client    netip.Addr
	tcp       bool
	name      string // canonical question name
	owner     string // the question name as asked, for the answers
	qtype     uint16
	machine   pxelator.Machine // the machine the name is about, if any
	command   string
	token     string // the token label of a command name
	forwarded bool
}

// recordedName is the question name with its token, if any, left out:
// audit records and logs never hold a token that may still be valid.
func (q *query) recordedName() string {
	if q.token == "" {
		return q.name
	}
	return strings.Replace(q.name, "."+q.token+".", ".[token].", 1)
}

// ServeDNS implements dns.Handler.
func (h *StoreHandler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	ctx := context.Background() // dns.Handler has none; commands and forwards end with Close
	q := query{client: addrOf(w.RemoteAddr())}
	_, q.tcp = w.RemoteAddr().(*net.TCPAddr)
	resp := h.respond(ctx, req, &q)
	h.finish(req, resp, q.tcp)
	h.rcodes[min(resp.Rcode, maxRcode)].Add(1)
	if h.audit != nil { // before the reply, so that a client that has it finds the record
		h.record(ctx, &q, resp.Rcode)
	}
	if err := w.WriteMsg(resp); err != nil {
		h.log.Debug("dnsd: writing reply", "client", q.client, "err", err)
	}
}

// maxRcode is the largest response code Stats counts apart (BADVERS);
// larger ones are counted with it.
const maxRcode = dns.RcodeBadVers

// rcodeCounts returns the answers by the name of their response code.
func (h *StoreHandler) rcodeCounts() map[string]uint64 {
	m := make(map[string]uint64)
	for rc := range h.rcodes {
		if n := h.rcodes[rc].Load(); n > 0 {
			m[dns.RcodeToString[rc]] += n
		}
	}
	return m
}

// respond returns the reply to req without its EDNS0 and size handling.
func (h *StoreHandler) respond(ctx context.Context, req *dns.Msg, q *query) *dns.Msg {
	m := new(dns.Msg)
	if len(req.Question) != 1 || req.Response {
		return m.SetRcodeFormatError(req)
	}
	if req.Opcode != dns.OpcodeQuery {
		return m.SetRcode(req, dns.RcodeNotImplemented)
	}
	if opt := req.IsEdns0(); opt != nil && opt.Version() != 0 {
		return m.SetRcode(req, dns.RcodeBadVers)
	}
	m.SetReply(req)
	qq := req.Question[0]
	q.owner, q.name, q.qtype = qq.Name, strings.ToLower(qq.Name), qq.Qtype
	if qq.Qclass != dns.ClassINET && qq.Qclass != dns.ClassANY {
		return m.SetRcode(req, dns.RcodeRefused)
	}
	switch qq.Qtype {
	case dns.TypeAXFR, dns.TypeIXFR:
		return m.SetRcode(req, dns.RcodeRefused)
	}
	switch {
	case inZone(q.name, h.czone):
		m.Authoritative = true
		h.command(ctx, m, q)
	case inZone(q.name, h.zone):
		m.Authoritative = true
		h.hostZone(ctx, m, q)
	default:
		for _, rz := range h.reverse {
			if inZone(q.name, rz) {
				m.Authoritative = true
				h.reverseZone(ctx, m, q, rz)
				return m
			}
		}
		if h.fwd != nil && contains(h.fwd.clients, q.client) {
			q.forwarded = true
			ctx, cancel := h.callContext(ctx)
			defer cancel()
			return h.fwd.forward(ctx, req, q.tcp)
		}
		m.SetRcode(req, dns.RcodeRefused)
	}
	return m
}

// finish adds the OPT record an EDNS0 client expects and truncates a UDP
// reply to the size the client can take.
func (h *StoreHandler) finish(req, resp *dns.Msg, tcp bool) {
	size := dns.MinMsgSize
	if opt := req.IsEdns0(); opt != nil {
		size = int(max(opt.UDPSize(), dns.MinMsgSize))
		if resp.IsEdns0() == nil {
			resp.SetEdns0(ednsSize, false)
		}
	}
	if !tcp {
		resp.Truncate(size)
	}
}

// hostZone answers names in the zone: the apex, ns.<zone> and hosts.
func (h *StoreHandler) hostZone(ctx context.Context, m *dns.Msg, q *query) {
	if q.name == h.zone {
		h.apex(m, q.qtype, h.zone)
		return
	}
	host := q.name[:len(q.name)-len(h.zone)-1]
	if host == "ns" && h.server.IsValid() {
		if q.qtype == dns.TypeA || q.qtype == dns.TypeANY {
			m.Answer = append(m.Answer, h.a(q.owner, h.server, h.ttl))
		} else {
			h.nodata(m, h.zone)
		}
		return
	}
	mach, err := h.store.ByHostname(ctx, host)
	if err != nil {
		h.lookupFailed(m, err, h.zone)
		return
	}
	q.machine = mach
	if q.qtype == dns.TypeA || q.qtype == dns.TypeANY {
		m.Answer = append(m.Answer, h.a(q.owner, mach.IP, h.ttl))
		return
	}
	h.nodata(m, h.zone)
}

// reverseZone answers names in the reverse zone rz.
func (h *StoreHandler) reverseZone(ctx context.Context, m *dns.Msg, q *query, rz string) {
	if q.name == rz {
		h.apex(m, q.qtype, rz)
		return
	}
	ip, labels, ok := parseReverse(q.name)
	switch {
	case !ok:
		h.nxdomain(m, rz)
		return
	case labels < 4: // an empty non-terminal such as 0.10.in-addr.arpa
		h.nodata(m, rz)
		return
	}
	mach, err := h.store.ByIP(ctx, ip)
	if err == nil && mach.Hostname == "" {
		err = pxelator.ErrNotFound
	}
	if err != nil {
		h.lookupFailed(m, err, rz)
		return
	}
	q.machine = mach
	if q.qtype == dns.TypePTR || q.qtype == dns.TypeANY {
		m.Answer = append(m.Answer, &dns.PTR{
			Hdr: dns.RR_Header{Name: q.owner, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: h.ttl},
			Ptr: dns.Fqdn(strings.ToLower(mach.Hostname)) + h.zone,
		})
		return
	}
	h.nodata(m, rz)
}

// apex answers SOA and NS queries for the apex of zone.
func (h *StoreHandler) apex(m *dns.Msg, qtype uint16, zone string) {
	switch qtype {
	case dns.TypeSOA:
		m.Answer = append(m.Answer, h.soa(zone))
	case dns.TypeNS:
		m.Answer = append(m.Answer, h.ns(zone))
		h.glue(m)
	case dns.TypeANY:
		m.Answer = append(m.Answer, h.soa(zone), h.ns(zone))
		h.glue(m)
	default:
		h.nodata(m, zone)
	}
}

func (h *StoreHandler) glue(m *dns.Msg) {
	if h.server.IsValid() {
		m.Extra = append(m.Extra, h.a(h.nsName, h.server, h.ttl))
	}
}

// lookupFailed answers NXDOMAIN for a name the store does not hold and
// SERVFAIL when the store fails.
func (h *StoreHandler) lookupFailed(m *dns.Msg, err error, zone string) {
	if errors.Is(err, pxelator.ErrNotFound) {
		h.nxdomain(m, zone)
		return
	}
	h.log.Error("dnsd: store lookup", "err", err)
	m.Rcode = dns.RcodeServerFailure
}

func (h *StoreHandler) nxdomain(m *dns.Msg, zone string) {
	m.Rcode = dns.RcodeNameError
	m.Ns = append(m.Ns, h.soa(zone))
}

func (h *StoreHandler) nodata(m *dns.Msg, zone string) {
	m.Ns = append(m.Ns, h.soa(zone))
}

func (h *StoreHandler) soa(zone string) dns.RR {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: h.ttl},
		Ns:      h.nsName,
		Mbox:    h.mbox,
		Serial:  h.serial.Load(),
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  h.ttl,
	}
}

func (h *StoreHandler) ns(zone string) dns.RR {
	return &dns.NS{
		Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: h.ttl},
		Ns:  h.nsName,
	}
}

func (h *StoreHandler) a(name string, ip netip.Addr, ttl uint32) dns.RR {
	b := ip.As4()
	return &dns.A{
		Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: ttl},
		A:   net.IP(b[:]),
	}
}

// record sends the audit event of one query.
func (h *StoreHandler) record(ctx context.Context, q *query, rcode int) {
	proto := "udp"
	if q.tcp {
		proto = "tcp"
	}
	fields := map[string]any{
		"name":  q.recordedName(),
		"type":  dns.TypeToString[q.qtype],
		"rcode": dns.RcodeToString[rcode],
		"proto": proto,
	}
	if q.command != "" {
		fields["command"] = q.command
	}
	if q.forwarded {
		fields["forwarded"] = true
	}
	e := audit.Event{Package: "dnsd", Action: "query", IP: q.client, Hostname: q.machine.Hostname, Fields: fields}
	if q.machine.Hostname != "" {
		e.MAC = q.machine.MAC
	}
	audit.Record(ctx, h.audit, e)
}

// zoneName returns the canonical, fully qualified form of a zone name.
func zoneName(s string) (string, error) {
	z := dns.CanonicalName(strings.TrimSpace(s))
	if z == "." {
		return "", fmt.Errorf("dnsd: config: no zone")
	}
	if _, ok := dns.IsDomainName(z); !ok {
		return "", fmt.Errorf("dnsd: config: bad zone %q", s)
	}
	return z, nil
}

// reverseZone returns the in-addr.arpa zone of p, rounded down to an
// octet boundary.
func reverseZone(p netip.Prefix) (string, error) {
	if !p.IsValid() || !p.Addr().Unmap().Is4() {
		return "", fmt.Errorf("dnsd: config: network %v is not IPv4", p)
	}
	b := p.Addr().Unmap().As4()
	var sb strings.Builder
	for i := p.Bits()/8 - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, "%d.", b[i])
	}
	sb.WriteString("in-addr.arpa.")
	return sb.String(), nil
}

// parseReverse parses a name in in-addr.arpa: the address it names (when
// it has 4 labels) and its number of labels before in-addr.arpa. ok is
// false when a label is not a decimal octet or there are more than 4.
func parseReverse(name string) (ip netip.Addr, labels int, ok bool) {
	rel, found := strings.CutSuffix(name, ".in-addr.arpa.")
	if !found {
		return ip, 0, false
	}
	var b [4]byte
	for rel != "" {
		if labels == 4 {
			return ip, 0, false
		}
		var label string
		if i := strings.LastIndexByte(rel, '.'); i >= 0 {
			label, rel = rel[i+1:], rel[:i]
		} else {
			label, rel = rel, ""
		}
		n, ok := octet(label)
		if !ok {
			return ip, 0, false
		}
		b[labels] = n
		labels++
	}
	return netip.AddrFrom4(b), labels, true
}

func octet[T string | []byte](s T) (byte, bool) {
	if len(s) == 0 || len(s) > 3 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return byte(n), n <= 255
}

// inZone reports whether the canonical name is zone or below it.
func inZone(name, zone string) bool {
	return name == zone || len(name) > len(zone) && strings.HasSuffix(name, zone) && name[len(name)-len(zone)-1] == '.'
}

func contains(nets []netip.Prefix, ip netip.Addr) bool {
	for _, p := range nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
