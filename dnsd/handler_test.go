package dnsd_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/dnsd/dnstest"
	"github.com/pxelator/pxelator/memstore"
)

// loopback are the networks of the test clients.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// fromLoopback lets the fixture's clients run commands from bare names,
// over TCP.
func fromLoopback(c *dnsd.Config) { c.CommandClients = loopback }

// testMachines are the machines of every test store.
var testMachines = []struct{ mac, ip, host string }{
	{"52:54:00:00:00:0b", "10.0.0.11", "kiosk-01"},
	{"52:54:00:00:00:0c", "10.0.0.12", "web"},
	{"52:54:00:00:00:0d", "10.0.0.13", ""},
}

type fixture struct {
	store *memstore.Store
	h     *dnsd.StoreHandler
	srv   *dnstest.Server
	rec   *audittest.Recorder
	ctx   context.Context
}

// newFixture serves a Handler for zone "pxe" over a store of testMachines
// on loopback. change adjusts the Config before the Handler is made.
func newFixture(t *testing.T, change func(*dnsd.Config)) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	f := &fixture{store: memstore.New(), rec: &audittest.Recorder{}, ctx: ctx}
	for _, m := range testMachines {
		putMachine(t, f.store, m.mac, m.ip, m.host)
	}
	cfg := dnsd.Config{
		Zone:     "pxe",
		Store:    f.store,
		Server:   netip.MustParseAddr("10.0.0.1"),
		Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
		Recorder: f.rec,
		Logger:   slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
	if change != nil {
		change(&cfg)
	}
	h, err := dnsd.NewStoreHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	f.h = h
	f.srv = dnstest.NewServer(h)
	t.Cleanup(func() {
		if err := f.srv.Close(); err != nil {
			t.Errorf("closing server: %v", err)
		}
	})
	return f
}

func putMachine(t testing.TB, s pxelator.Store, mac, ip, host string) {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), pxelator.Machine{MAC: hw, IP: netip.MustParseAddr(ip), Hostname: host}); err != nil {
		t.Fatal(err)
	}
}

// ask sends one question over net and returns the reply.
func (f *fixture) ask(t *testing.T, net, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg).SetQuestion(dns.Fqdn(name), qtype)
	r, err := f.srv.Exchange(f.ctx, net, m)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], net, err)
	}
	return r
}

// rrs returns the records as strings without their TTLs' tab layout
// mattering: "name TTL IN TYPE data".
func rrs(rs []dns.RR) []string {
	var out []string
	for _, r := range rs {
		out = append(out, strings.Join(strings.Fields(r.String()), " "))
	}
	return out
}

func TestHandlerAnswers(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		name   string
		qtype  uint16
		net    string
		rcode  int
		answer []string
		nsSOA  bool // SOA in the authority section
		aa     bool
	}{
		{"kiosk-01.pxe", dns.TypeA, "udp", dns.RcodeSuccess, []string{"kiosk-01.pxe. 5 IN A 10.0.0.11"}, false, true},
		{"KIOSK-01.Pxe", dns.TypeA, "udp", dns.RcodeSuccess, []string{"KIOSK-01.Pxe. 5 IN A 10.0.0.11"}, false, true},
		{"web.pxe", dns.TypeA, "tcp", dns.RcodeSuccess, []string{"web.pxe. 5 IN A 10.0.0.12"}, false, true},
		{"web.pxe", dns.TypeANY, "udp", dns.RcodeSuccess, []string{"web.pxe. 5 IN A 10.0.0.12"}, false, true},
		{"kiosk-01.pxe", dns.TypeAAAA, "udp", dns.RcodeSuccess, nil, true, true},
		{"kiosk-01.pxe", dns.TypeMX, "udp", dns.RcodeSuccess, nil, true, true},
		{"missing.pxe", dns.TypeA, "udp", dns.RcodeNameError, nil, true, true},
		{"sub.kiosk-01.pxe", dns.TypeA, "udp", dns.RcodeNameError, nil, true, true},
		{"missing.pxe", dns.TypeA, "tcp", dns.RcodeNameError, nil, true, true},
		{"pxe", dns.TypeNS, "udp", dns.RcodeSuccess, []string{"pxe. 5 IN NS ns.pxe."}, false, true},
		{"pxe", dns.TypeA, "udp", dns.RcodeSuccess, nil, true, true},
		{"ns.pxe", dns.TypeA, "udp", dns.RcodeSuccess, []string{"ns.pxe. 5 IN A 10.0.0.1"}, false, true},
		{"11.0.0.10.in-addr.arpa", dns.TypePTR, "udp", dns.RcodeSuccess, []string{"11.0.0.10.in-addr.arpa. 5 IN PTR kiosk-01.pxe."}, false, true},
		{"12.0.0.10.in-addr.arpa", dns.TypePTR, "tcp", dns.RcodeSuccess, []string{"12.0.0.10.in-addr.arpa. 5 IN PTR web.pxe."}, false, true},
		{"12.0.0.10.in-addr.arpa", dns.TypeA, "udp", dns.RcodeSuccess, nil, true, true},
		{"13.0.0.10.in-addr.arpa", dns.TypePTR, "udp", dns.RcodeNameError, nil, true, true}, // no host name
		{"99.0.0.10.in-addr.arpa", dns.TypePTR, "udp", dns.RcodeNameError, nil, true, true},
		{"0.0.10.in-addr.arpa", dns.TypeNS, "udp", dns.RcodeSuccess, []string{"0.0.10.in-addr.arpa. 5 IN NS ns.pxe."}, false, true},
		{"0.10.in-addr.arpa", dns.TypePTR, "udp", dns.RcodeRefused, nil, false, false}, // above the reverse zone
		{"x.0.0.10.in-addr.arpa", dns.TypePTR, "udp", dns.RcodeNameError, nil, true, true},
		{"011.0.0.10.in-addr.arpa", dns.TypePTR, "udp", dns.RcodeNameError, nil, true, true},
		{"1.11.0.0.10.in-addr.arpa", dns.TypePTR, "udp", dns.RcodeNameError, nil, true, true},
		{"1.1.168.192.in-addr.arpa", dns.TypePTR, "udp", dns.RcodeRefused, nil, false, false},
		{"example.com", dns.TypeA, "udp", dns.RcodeRefused, nil, false, false},
		{".", dns.TypeNS, "udp", dns.RcodeRefused, nil, false, false},
		{"pxe", dns.TypeAXFR, "tcp", dns.RcodeRefused, nil, false, false},
		// Commands are off unless the Config allows a proof.
		{"do.pxe", dns.TypeA, "udp", dns.RcodeRefused, nil, false, false},
		{"wake.kiosk-01.do.pxe", dns.TypeA, "tcp", dns.RcodeRefused, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+dns.TypeToString[tt.qtype]+"/"+tt.net, func(t *testing.T) {
			r := f.ask(t, tt.net, tt.name, tt.qtype)
			if r.Rcode != tt.rcode {
				t.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			if got := rrs(r.Answer); !slices.Equal(got, tt.answer) {
				t.Errorf("answer %q, want %q", got, tt.answer)
			}
			gotSOA := len(r.Ns) == 1 && r.Ns[0].Header().Rrtype == dns.TypeSOA
			if gotSOA != tt.nsSOA {
				t.Errorf("authority %q, want SOA: %v", rrs(r.Ns), tt.nsSOA)
			}
			if r.Authoritative != tt.aa {
				t.Errorf("AA %v, want %v", r.Authoritative, tt.aa)
			}
			if r.RecursionAvailable {
				t.Error("RA set without a forwarder")
			}
		})
	}
	want := map[string]uint64{}
	for _, tt := range tests {
		want[dns.RcodeToString[tt.rcode]]++
	}
	if got := f.h.Stats().Rcodes; !maps.Equal(got, want) {
		t.Errorf("Stats().Rcodes = %v, want %v", got, want)
	}
}

func TestSOAAndGlue(t *testing.T) {
	f := newFixture(t, nil)
	r := f.ask(t, "udp", "pxe", dns.TypeSOA)
	if len(r.Answer) != 1 {
		t.Fatalf("answer %v", r.Answer)
	}
	soa := r.Answer[0].(*dns.SOA)
	if soa.Ns != "ns.pxe." || soa.Mbox != "hostmaster.pxe." || soa.Serial != f.h.Serial() || soa.Minttl != dnsd.DefaultTTL {
		t.Errorf("SOA %v, serial want %d", soa, f.h.Serial())
	}
	r = f.ask(t, "udp", "pxe", dns.TypeNS)
	if got := rrs(r.Extra); !slices.Equal(got, []string{"ns.pxe. 5 IN A 10.0.0.1"}) {
		t.Errorf("glue %q", got)
	}
}

// serialAfter waits until the zone's SOA serial differs from old.
func (f *fixture) serialAfter(t *testing.T, old uint32) uint32 {
	t.Helper()
	for {
		r := f.ask(t, "udp", "pxe", dns.TypeSOA)
		if s := r.Answer[0].(*dns.SOA).Serial; s != old {
			return s
		}
		select {
		case <-f.ctx.Done():
			t.Fatalf("serial still %d", old)
		case <-time.After(time.Millisecond):
		}
	}
}

func TestStoreChangeAnsweredAtOnce(t *testing.T) {
	f := newFixture(t, nil)
	serial := f.ask(t, "udp", "pxe", dns.TypeSOA).Answer[0].(*dns.SOA).Serial

	putMachine(t, f.store, "52:54:00:00:00:0b", "10.0.0.21", "kiosk-99")
	if r := f.ask(t, "udp", "kiosk-99.pxe", dns.TypeA); !slices.Equal(rrs(r.Answer), []string{"kiosk-99.pxe. 5 IN A 10.0.0.21"}) {
		t.Errorf("renamed machine: %v", r)
	}
	if r := f.ask(t, "udp", "kiosk-01.pxe", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("old name: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if r := f.ask(t, "udp", "21.0.0.10.in-addr.arpa", dns.TypePTR); !slices.Equal(rrs(r.Answer), []string{"21.0.0.10.in-addr.arpa. 5 IN PTR kiosk-99.pxe."}) {
		t.Errorf("PTR of the new address: %v", r)
	}
	next := f.serialAfter(t, serial)
	if int32(next-serial) <= 0 {
		t.Errorf("serial went from %d to %d, want larger (RFC 1982)", serial, next)
	}

	hw, _ := net.ParseMAC("52:54:00:00:00:0c")
	if err := f.store.Delete(f.ctx, hw); err != nil {
		t.Fatal(err)
	}
	if r := f.ask(t, "udp", "web.pxe", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("deleted machine: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	if last := f.serialAfter(t, next); int32(last-next) <= 0 {
		t.Errorf("serial went from %d to %d after a delete", next, last)
	}
}

func TestEDNS0(t *testing.T) {
	f := newFixture(t, nil)
	m := new(dns.Msg).SetQuestion("kiosk-01.pxe.", dns.TypeA)
	m.SetEdns0(4096, true)
	r, err := f.srv.Exchange(f.ctx, "udp", m)
	if err != nil {
		t.Fatal(err)
	}
	opt := r.IsEdns0()
	if opt == nil || opt.Version() != 0 || opt.UDPSize() != 1232 || len(r.Answer) != 1 {
		t.Errorf("reply to an EDNS0 query: %v", r)
	}

	m.IsEdns0().SetVersion(1)
	r, err = f.srv.Exchange(f.ctx, "udp", m)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rcode != dns.RcodeBadVers || r.IsEdns0() == nil || len(r.Answer) != 0 {
		t.Errorf("reply to EDNS version 1: %s %v", dns.RcodeToString[r.Rcode], r)
	}

	m = new(dns.Msg).SetQuestion("kiosk-01.pxe.", dns.TypeA)
	if r, err = f.srv.Exchange(f.ctx, "udp", m); err != nil || r.IsEdns0() != nil {
		t.Errorf("reply to a query without EDNS0 has an OPT record: %v, %v", r, err)
	}
}

// bigUpstream answers every A query with 100 addresses, truncated over
// UDP to the client's size as a real server does.
func bigUpstream(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg).SetReply(req)
	m.RecursionAvailable = true
	for i := range 100 {
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A:   net.IPv4(192, 0, 2, byte(i)),
		})
	}
	if _, ok := w.RemoteAddr().(*net.UDPAddr); ok {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
			m.SetEdns0(opt.UDPSize(), false)
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

func TestForwardAndTruncate(t *testing.T) {
	up := dnstest.NewServer(dns.HandlerFunc(bigUpstream))
	defer up.Close()
	f := newFixture(t, func(c *dnsd.Config) {
		c.Forward = []string{"127.0.0.1:1", up.Addr} // the first does not answer
		c.ForwardClients = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.ForwardTimeout = 500 * time.Millisecond
	})

	r := f.ask(t, "udp", "big.example", dns.TypeA)
	if !r.Truncated || r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 || len(r.Answer) == 100 {
		t.Errorf("UDP without EDNS0: TC=%v %s with %d answers, want truncated", r.Truncated, dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	if r.Compress = true; r.Len() > dns.MinMsgSize {
		t.Errorf("UDP reply of %d bytes, want at most 512", r.Len())
	}
	r = f.ask(t, "tcp", "big.example", dns.TypeA)
	if r.Truncated || len(r.Answer) != 100 || !r.RecursionAvailable {
		t.Errorf("TCP: TC=%v RA=%v with %d answers, want 100", r.Truncated, r.RecursionAvailable, len(r.Answer))
	}
	m := new(dns.Msg).SetQuestion("big.example.", dns.TypeA)
	m.SetEdns0(4096, false)
	for _, size := range []uint16{4096, 1000} { // we ask upstream for at most 1232
		m.IsEdns0().SetUDPSize(size)
		r, err := f.srv.Exchange(f.ctx, "udp", m)
		if err != nil {
			t.Fatal(err)
		}
		r.Compress = true
		if !r.Truncated || r.Len() > min(int(size), 1232) || len(r.Answer) < 40 || r.IsEdns0() == nil {
			t.Errorf("UDP with EDNS0 %d: %v answers in %d bytes, TC=%v", size, len(r.Answer), r.Len(), r.Truncated)
		}
	}
	// Our own zone is still answered by us.
	if r := f.ask(t, "udp", "kiosk-01.pxe", dns.TypeA); len(r.Answer) != 1 || !r.Authoritative {
		t.Errorf("own zone with a forwarder: %v", r)
	}
}

func TestForwardOnlyForAllowedClients(t *testing.T) {
	up := dnstest.NewServer(dns.HandlerFunc(bigUpstream))
	defer up.Close()
	f := newFixture(t, func(c *dnsd.Config) {
		c.Forward = []string{up.Addr}
		c.ForwardClients = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	if r := f.ask(t, "udp", "big.example", dns.TypeA); r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
		t.Errorf("client outside ForwardClients: %s, %d answers; want REFUSED", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
}

func TestForwardUpstreamDown(t *testing.T) {
	f := newFixture(t, func(c *dnsd.Config) {
		c.Forward = []string{"127.0.0.1:1"}
		c.ForwardClients = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.ForwardTimeout = 200 * time.Millisecond
	})
	if r := f.ask(t, "udp", "example.com", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("no upstream answers: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
}

func TestAuditEveryQuery(t *testing.T) {
	f := newFixture(t, fromLoopback)
	f.ask(t, "udp", "kiosk-01.pxe", dns.TypeA)
	f.ask(t, "tcp", "missing.pxe", dns.TypeAAAA)
	f.ask(t, "udp", "example.com", dns.TypeA)
	evs := f.rec.Find("dnsd", "query")
	if len(evs) != 3 {
		t.Fatalf("%d query events, want 3: %v", len(evs), evs)
	}
	want := []struct {
		name, typ, rcode, proto, host string
	}{
		{"kiosk-01.pxe.", "A", "NOERROR", "udp", "kiosk-01"},
		{"missing.pxe.", "AAAA", "NXDOMAIN", "tcp", ""},
		{"example.com.", "A", "REFUSED", "udp", ""},
	}
	for i, w := range want {
		e := evs[i]
		if e.Fields["name"] != w.name || e.Fields["type"] != w.typ || e.Fields["rcode"] != w.rcode ||
			e.Fields["proto"] != w.proto || e.Hostname != w.host || e.IP != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
	if evs[0].MAC.String() != "52:54:00:00:00:0b" {
		t.Errorf("event of a known host without its MAC: %v", evs[0].MAC)
	}

	// A machine's secrets never reach an audit event or the log.
	m, _ := f.store.ByHostname(f.ctx, "web")
	m.SetSecret("amt.password", "s3cret-pw")
	if err := f.store.Put(f.ctx, m); err != nil {
		t.Fatal(err)
	}
	f.h.HandleCommand("wake", (&counter{}).run)
	for _, r := range []*dns.Msg{f.ask(t, "udp", "web.pxe", dns.TypeA), f.ask(t, "tcp", "wake.web.do.pxe", dns.TypeA),
		f.ask(t, "udp", "web.pxe", dns.TypeANY), f.ask(t, "udp", "12.0.0.10.in-addr.arpa", dns.TypePTR)} {
		if strings.Contains(r.String(), "s3cret") {
			t.Errorf("secret in a DNS answer: %s", r)
		}
	}
	for _, e := range f.rec.Events() {
		if s := fmt.Sprintf("%+v %v", e, e.LogValue()); strings.Contains(s, "s3cret") {
			t.Errorf("secret in audit event %s", s)
		}
	}
}

// counter is a command that counts its runs.
type counter struct {
	n       atomic.Int32
	last    atomic.Value  // string: the host name of the last machine
	release chan struct{} // when not nil, a run waits for it to close
	started chan struct{} // when not nil, closed by the first run
	once    sync.Once
	err     error
}

func (c *counter) run(ctx context.Context, m pxelator.Machine) error {
	c.n.Add(1)
	c.last.Store(m.Hostname)
	if c.started != nil {
		c.once.Do(func() { close(c.started) })
	}
	if c.release != nil {
		select {
		case <-c.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return c.err
}

func TestCommand(t *testing.T) {
	f := newFixture(t, func(c *dnsd.Config) { c.CommandWindow, c.CommandClients = time.Hour, loopback })
	wake := &counter{}
	f.h.HandleCommand("wake", wake.run)

	// Over UDP, whose source address anyone can forge, a bare name gets
	// the TC bit and runs nothing: the client asks again over TCP.
	if r := f.ask(t, "udp", "wake.kiosk-01.do.pxe", dns.TypeA); !r.Truncated || len(r.Answer) != 0 || r.Rcode != dns.RcodeSuccess || wake.n.Load() != 0 {
		t.Errorf("bare command over UDP: %s, TC %v, %v, %d runs; want TC and no run", dns.RcodeToString[r.Rcode], r.Truncated, r.Answer, wake.n.Load())
	}
	for _, net := range []string{"tcp", "tcp"} { // a retry
		r := f.ask(t, net, "wake.kiosk-01.do.pxe", dns.TypeA)
		if got := rrs(r.Answer); r.Rcode != dns.RcodeSuccess || !slices.Equal(got, []string{"wake.kiosk-01.do.pxe. 0 IN A 10.0.0.11"}) {
			t.Errorf("command over %s: %s %q", net, dns.RcodeToString[r.Rcode], got)
		}
	}
	if n := wake.n.Load(); n != 1 {
		t.Errorf("command ran %d times for one name, want 1", n)
	}
	if r := f.ask(t, "tcp", "wake.web.do.pxe", dns.TypeA); len(r.Answer) != 1 || wake.n.Load() != 2 || wake.last.Load() != "web" {
		t.Errorf("command for another machine: %v, %d runs", r, wake.n.Load())
	}
	// The AAAA query of the same ping is answered without running it.
	if r := f.ask(t, "udp", "wake.kiosk-01.web.do.pxe", dns.TypeAAAA); r.Rcode != dns.RcodeNameError {
		t.Errorf("command for an unknown host: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
	hw, _ := net.ParseMAC("52:54:00:00:00:0d")
	m := pxelator.Machine{MAC: hw, IP: netip.MustParseAddr("10.0.0.13"), Hostname: "kiosk-02"}
	if err := f.store.Put(f.ctx, m); err != nil {
		t.Fatal(err)
	}
	if r := f.ask(t, "udp", "wake.kiosk-02.do.pxe", dns.TypeAAAA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || wake.n.Load() != 2 {
		t.Errorf("AAAA for a command: %s %v, %d runs", dns.RcodeToString[r.Rcode], r.Answer, wake.n.Load())
	}
	for _, name := range []string{"missing.do.pxe", "wake.do.pxe", "wake.missing.do.pxe", "sleep.kiosk-01.do.pxe"} {
		if r := f.ask(t, "udp", name, dns.TypeA); r.Rcode != dns.RcodeNameError || len(r.Ns) != 1 {
			t.Errorf("%s: %s, want NXDOMAIN with SOA", name, dns.RcodeToString[r.Rcode])
		}
	}
	if n := wake.n.Load(); n != 2 {
		t.Errorf("%d runs after queries that must not run it, want 2", n)
	}
	cmds := f.rec.Find("dnsd", "command")
	if len(cmds) != 2 || cmds[0].Hostname != "kiosk-01" || cmds[0].Fields["command"] != "wake" ||
		cmds[0].MAC.String() != "52:54:00:00:00:0b" || cmds[0].Fields["error"] != nil {
		t.Errorf("command events: %+v", cmds)
	}
	for _, e := range f.rec.Find("dnsd", "query") {
		if strings.HasPrefix(e.Fields["name"].(string), "wake.kiosk-01.") && e.Fields["command"] != "wake" {
			t.Errorf("query event of a command without it: %+v", e)
		}
	}

	f.h.HandleCommand("wake", nil)
	if r := f.ask(t, "tcp", "wake.web.do.pxe", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("removed command: %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
}

func TestCommandWithSeveralLabels(t *testing.T) {
	f := newFixture(t, fromLoopback)
	var got atomic.Value
	f.h.HandleCommand("Boot.Install", func(ctx context.Context, m pxelator.Machine) error {
		got.Store(m.Hostname)
		return nil
	})
	if r := f.ask(t, "tcp", "boot.install.kiosk-01.do.pxe", dns.TypeA); len(r.Answer) != 1 || got.Load() != "kiosk-01" {
		t.Errorf("boot.install: %v, ran for %v", r, got.Load())
	}
	tests := []struct {
		name  string
		rcode int
	}{
		// Nodes above a command name, which resolvers that minimise the
		// query name ask for on the way down, exist.
		{"kiosk-01.do.pxe", dns.RcodeSuccess},
		{"install.kiosk-01.do.pxe", dns.RcodeSuccess},
		{"boot.kiosk-01.do.pxe", dns.RcodeNameError}, // a prefix, not a suffix, of boot.install
		{"stall.kiosk-01.do.pxe", dns.RcodeNameError},
		{"missing.do.pxe", dns.RcodeNameError},
		{"install.missing.do.pxe", dns.RcodeNameError},
	}
	for _, tt := range tests {
		if r := f.ask(t, "udp", tt.name, dns.TypeA); r.Rcode != tt.rcode || len(r.Answer) != 0 || len(r.Ns) != 1 {
			t.Errorf("%s: %s %v, want %s with the SOA", tt.name, dns.RcodeToString[r.Rcode], r.Answer, dns.RcodeToString[tt.rcode])
		}
	}
}

func TestCommandFloodRunsOnce(t *testing.T) {
	tokens := testTokens(t)
	f := newFixture(t, func(c *dnsd.Config) { c.CommandTokens, c.CommandTimeout = tokens, time.Minute })
	wake := &counter{release: make(chan struct{}), started: make(chan struct{})}
	f.h.HandleCommand("wake", wake.run)
	name := tokens.Name("wake", "kiosk-01", "do.pxe", time.Now())
	const n = 40
	var wg sync.WaitGroup
	results := make(chan *dns.Msg, n)
	for i := range n {
		wg.Go(func() {
			m := new(dns.Msg).SetQuestion(name, dns.TypeA)
			c := &dns.Client{Net: []string{"udp", "tcp"}[i%2], Timeout: time.Minute}
			r, _, err := c.ExchangeContext(f.ctx, m, f.srv.Addr)
			if err != nil {
				t.Error(err)
				return
			}
			results <- r
		})
	}
	select { // the first run is blocked until released; the others share it
	case <-wake.started:
	case <-f.ctx.Done():
		t.Fatal("command never ran")
	}
	close(wake.release)
	wg.Wait()
	close(results)
	for r := range results {
		if len(r.Answer) != 1 {
			t.Errorf("flooded command: %s %v", dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
	if got := wake.n.Load(); got != 1 {
		t.Errorf("command ran %d times under a flood of %d queries, want 1", got, n)
	}
	if got := len(f.rec.Find("dnsd", "command")); got != 1 {
		t.Errorf("%d command events, want 1", got)
	}
}

func TestCommandRunsAgainAfterWindow(t *testing.T) {
	f := newFixture(t, func(c *dnsd.Config) { c.CommandWindow, c.CommandClients = time.Nanosecond, loopback })
	wake := &counter{}
	f.h.HandleCommand("wake", wake.run)
	f.ask(t, "tcp", "wake.kiosk-01.do.pxe", dns.TypeA)
	f.ask(t, "tcp", "wake.kiosk-01.do.pxe", dns.TypeA)
	if n := wake.n.Load(); n != 2 {
		t.Errorf("command ran %d times for two queries outside the window, want 2", n)
	}
}

func TestCommandClients(t *testing.T) {
	f := newFixture(t, func(c *dnsd.Config) {
		c.CommandClients = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	})
	wake := &counter{}
	f.h.HandleCommand("wake", wake.run)
	for _, net := range []string{"udp", "tcp"} {
		if r := f.ask(t, net, "wake.kiosk-01.do.pxe", dns.TypeA); r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 || r.Truncated {
			t.Errorf("client outside CommandClients over %s: %s", net, dns.RcodeToString[r.Rcode])
		}
	}
	if n := wake.n.Load(); n != 0 {
		t.Errorf("command ran %d times for a refused client", n)
	}
	if st := f.h.Stats(); st.Refused != 2 || st.Commands != 0 {
		t.Errorf("Stats() = %+v, want 2 refused", st)
	}
	if evs := f.rec.Find("dnsd", "refused"); len(evs) != 2 || evs[0].Fields["reason"] != "client may not" || evs[0].Hostname != "kiosk-01" {
		t.Errorf("refused events: %+v", evs)
	}
	// Names are still answered to that client.
	if r := f.ask(t, "udp", "kiosk-01.pxe", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("host name for the same client: %v", r)
	}
}

func TestCommandFails(t *testing.T) {
	f := newFixture(t, fromLoopback)
	f.h.HandleCommand("fail", (&counter{err: errors.New("no power")}).run)
	f.h.HandleCommand("panic", func(ctx context.Context, m pxelator.Machine) error { panic("broken command") })
	f.h.HandleCommand("slow", func(ctx context.Context, m pxelator.Machine) error { <-ctx.Done(); return ctx.Err() })
	for _, name := range []string{"fail.web.do.pxe", "panic.web.do.pxe"} {
		if r := f.ask(t, "tcp", name, dns.TypeA); r.Rcode != dns.RcodeServerFailure {
			t.Errorf("%s: %s, want SERVFAIL", name, dns.RcodeToString[r.Rcode])
		}
	}
	evs := f.rec.Find("dnsd", "command")
	if len(evs) != 2 || evs[0].Fields["error"] != "no power" || !strings.Contains(evs[1].Fields["error"].(string), "broken command") {
		t.Errorf("command events: %+v", evs)
	}
	if r := f.ask(t, "tcp", "kiosk-01.pxe", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("server after a panicking command: %v", r)
	}
}

func TestHandleCommandBadName(t *testing.T) {
	f := newFixture(t, nil)
	for _, name := range []string{"", "a..b", `a\.b`, "a b", strings.Repeat("x", 64)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("HandleCommand(%q) did not panic", name)
				}
			}()
			f.h.HandleCommand(name, func(context.Context, pxelator.Machine) error { return nil })
		}()
	}
}

func TestNewStoreHandlerErrors(t *testing.T) {
	store := memstore.New()
	tests := []struct {
		name string
		cfg  dnsd.Config
	}{
		{"no store", dnsd.Config{Zone: "pxe"}},
		{"no zone", dnsd.Config{Store: store}},
		{"root zone", dnsd.Config{Zone: ".", Store: store}},
		{"bad zone", dnsd.Config{Zone: "a..b", Store: store}},
		{"command zone outside", dnsd.Config{Zone: "pxe", CommandZone: "do.example", Store: store}},
		{"command zone is the zone", dnsd.Config{Zone: "pxe", CommandZone: "pxe", Store: store}},
		{"IPv6 network", dnsd.Config{Zone: "pxe", Store: store, Networks: []netip.Prefix{netip.MustParsePrefix("fd00::/64")}}},
		{"IPv6 server", dnsd.Config{Zone: "pxe", Store: store, Server: netip.MustParseAddr("fd00::1")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dnsd.NewStoreHandler(tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), "dnsd: ") {
				t.Errorf("NewStoreHandler: %v, want a dnsd error", err)
			}
		})
	}
}

func TestCommandZoneConfigured(t *testing.T) {
	f := newFixture(t, func(c *dnsd.Config) { c.CommandZone, c.CommandClients = "run.pxe.", loopback })
	f.h.HandleCommand("wake", (&counter{}).run)
	if r := f.ask(t, "tcp", "wake.kiosk-01.run.pxe", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("command in run.pxe: %v", r)
	}
	if r := f.ask(t, "tcp", "wake.kiosk-01.do.pxe", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("do.pxe without being the command zone: %s", dns.RcodeToString[r.Rcode])
	}
}

// TestEveryType asks for every known type at a host, the apex, a reverse
// name and a command name: each gets an answer only for its own types and
// a clear NOERROR (NODATA) or REFUSED otherwise.
func TestEveryType(t *testing.T) {
	f := newFixture(t, func(c *dnsd.Config) { c.CommandWindow, c.CommandClients = time.Hour, loopback })
	wake := &counter{}
	f.h.HandleCommand("wake", wake.run)
	answers := map[string][]uint16{
		"kiosk-01.pxe.":           {dns.TypeA, dns.TypeANY},
		"pxe.":                    {dns.TypeSOA, dns.TypeNS, dns.TypeANY},
		"11.0.0.10.in-addr.arpa.": {dns.TypePTR, dns.TypeANY},
		"wake.kiosk-01.do.pxe.":   {dns.TypeA, dns.TypeANY},
	}
	for name, types := range answers {
		for qtype, s := range dns.TypeToString {
			r := f.ask(t, "tcp", name, qtype)
			switch {
			case qtype == dns.TypeAXFR || qtype == dns.TypeIXFR:
				if r.Rcode != dns.RcodeRefused {
					t.Errorf("%s %s: %s, want REFUSED", name, s, dns.RcodeToString[r.Rcode])
				}
			case slices.Contains(types, qtype):
				if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
					t.Errorf("%s %s: %s with %d answers", name, s, dns.RcodeToString[r.Rcode], len(r.Answer))
				}
			default:
				if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
					t.Errorf("%s %s: %s %v, want NODATA", name, s, dns.RcodeToString[r.Rcode], r.Answer)
				}
			}
		}
	}
	if n := wake.n.Load(); n != 1 {
		t.Errorf("command ran %d times, want 1", n)
	}
}

// TestStoreHandlerClose: Close cancels a command that is running, makes
// later ones fail, and stops following the store, while names are still
// answered.
func TestStoreHandlerClose(t *testing.T) {
	f := newFixture(t, func(c *dnsd.Config) { c.CommandTimeout, c.CommandClients = time.Hour, loopback })
	block := &counter{release: make(chan struct{}), started: make(chan struct{})}
	f.h.HandleCommand("block", block.run)
	answer := make(chan *dns.Msg, 1)
	go func() {
		r, err := f.srv.Exchange(f.ctx, "tcp", new(dns.Msg).SetQuestion("block.kiosk-01.do.pxe.", dns.TypeA))
		if err != nil {
			t.Error(err)
		}
		answer <- r
	}()
	<-block.started
	if err := f.h.Close(); err != nil {
		t.Fatal(err)
	}
	if r := <-answer; r == nil || r.Rcode != dns.RcodeServerFailure {
		t.Errorf("command running at Close: %v, want SERVFAIL", r)
	}
	if evs := f.rec.Find("dnsd", "command"); len(evs) != 1 || !strings.Contains(fmt.Sprint(evs[0].Fields["error"]), "context canceled") {
		t.Errorf("command events: %+v", evs)
	}
	wake := &counter{}
	f.h.HandleCommand("wake", wake.run)
	if r := f.ask(t, "tcp", "wake.kiosk-01.do.pxe", dns.TypeA); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("command after Close: %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if n := wake.n.Load(); n != 0 {
		t.Errorf("a command ran %d times after Close", n)
	}
	serial := f.h.Serial()
	putMachine(t, f.store, "52:54:00:00:00:99", "10.0.0.99", "late")
	if r := f.ask(t, "udp", "late.pxe", dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("name after Close: %v", r)
	}
	if got := f.h.Serial(); got != serial {
		t.Errorf("serial moved from %d to %d after Close", serial, got)
	}
	if err := f.h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
