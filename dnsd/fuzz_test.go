package dnsd_test

import (
	"context"
	"encoding/hex"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/memstore"
)

// writer is a dns.ResponseWriter that keeps the reply, for calling a
// Handler without a socket.
type writer struct {
	remote net.Addr
	reply  *dns.Msg
}

func (w *writer) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
}
func (w *writer) RemoteAddr() net.Addr        { return w.remote }
func (w *writer) WriteMsg(m *dns.Msg) error   { w.reply = m; return nil }
func (w *writer) Write(b []byte) (int, error) { return len(b), nil }
func (w *writer) Close() error                { return nil }
func (w *writer) TsigStatus() error           { return nil }
func (w *writer) TsigTimersOnly(bool)         {}
func (w *writer) Hijack()                     {}

var (
	udpClient = &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
	tcpClient = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
)

// fuzzSeeds are well-formed queries of many types and names, and some
// broken messages.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	names := []string{"kiosk-01.pxe.", "pxe.", "ns.pxe.", "missing.pxe.", "11.0.0.10.in-addr.arpa.",
		"0.0.10.in-addr.arpa.", "wake.kiosk-01.do.pxe.", "boot.install.web.do.pxe.", "example.com.", "."}
	types := []uint16{dns.TypeA, dns.TypeAAAA, dns.TypePTR, dns.TypeSOA, dns.TypeNS, dns.TypeANY, dns.TypeAXFR, dns.TypeTXT}
	for _, n := range names {
		for _, ty := range types {
			m := new(dns.Msg).SetQuestion(n, ty)
			if ty == dns.TypeANY {
				m.SetEdns0(4096, true)
			}
			b, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	m := new(dns.Msg).SetQuestion("kiosk-01.pxe.", dns.TypeA)
	m.Question = append(m.Question, m.Question[0]) // two questions
	b, _ := m.Pack()
	seeds = append(seeds, b)
	m = new(dns.Msg).SetQuestion("kiosk-01.pxe.", dns.TypeA)
	m.Opcode = dns.OpcodeUpdate
	b, _ = m.Pack()
	seeds = append(seeds, b)
	m = new(dns.Msg).SetQuestion("kiosk-01.pxe.", dns.TypeA)
	m.SetEdns0(512, false)
	m.IsEdns0().SetVersion(3)
	b, _ = m.Pack()
	seeds = append(seeds, b)
	for _, h := range []string{
		"",
		"1234",
		"123401000001000000000000", // header only, one question missing
		"1234010000010000000000000377777700000100",           // class cut short
		"123401000001000000000000c00c00010001",               // compression loop
		"1234010000010000000000003f" + "61" + "0001",         // label length past the end
		"12340100000000000000000000",                         // no question
		"123481000001000000000000036b696f0370786500000100",   // a response
		"12340100000100000000000103707865000001000100002902", // OPT cut short
		"123401000001000000000000056162",                     // label running past the end
	} {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// fuzzHandler is a StoreHandler with every feature on, whose commands count
// their runs.
func fuzzHandler(t testing.TB) (*dnsd.StoreHandler, *atomic.Int32) {
	store := memstore.New()
	for _, m := range testMachines {
		putMachine(t, store, m.mac, m.ip, m.host)
	}
	h, err := dnsd.NewStoreHandler(dnsd.Config{
		Zone:           "pxe",
		Store:          store,
		Server:         netip.MustParseAddr("10.0.0.1"),
		Networks:       []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
		CommandTokens:  testTokens(t),
		CommandSelf:    true,
		CommandClients: loopback,
		CommandWindow:  time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	var runs atomic.Int32
	cmd := func(ctx context.Context, m pxelator.Machine) error { runs.Add(1); return nil }
	h.HandleCommand("wake", cmd)
	h.HandleCommand("boot.install", cmd)
	return h, &runs
}

// FuzzServeDNS feeds the Handler every message that unpacks and checks
// that it always answers with a reply that packs, echoes the id, never
// exceeds the UDP size, and runs a command at most once per command and
// machine.
func FuzzServeDNS(f *testing.F) {
	seeds := fuzzSeeds(f)
	tokens := testTokens(f)
	for _, name := range []string{tokens.Name("wake", "web", "do.pxe", time.Now()),
		tokens.Name("boot.install", "kiosk-01", "do.pxe", time.Now()), "wake.kiosk-01.aaaaaaaaaaaaaaaa.do.pxe."} {
		b, err := new(dns.Msg).SetQuestion(name, dns.TypeA).Pack()
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	h, runs := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, data []byte, tcp bool) {
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return // the server answers FORMERR before the Handler sees it
		}
		w := &writer{remote: udpClient}
		if tcp {
			w.remote = tcpClient
		}
		h.ServeDNS(w, req)
		r := w.reply
		if r == nil {
			t.Fatal("no reply")
		}
		if r.Id != req.Id || !r.Response {
			t.Fatalf("reply id %d response %v to id %d", r.Id, r.Response, req.Id)
		}
		b, err := r.Pack()
		if err != nil {
			t.Fatalf("reply does not pack: %v\n%v", err, r)
		}
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = max(int(opt.UDPSize()), dns.MinMsgSize)
		}
		if !tcp && len(b) > size {
			t.Fatalf("UDP reply of %d bytes to a client of %d", len(b), size)
		}
		switch r.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError, dns.RcodeRefused, dns.RcodeFormatError,
			dns.RcodeNotImplemented, dns.RcodeBadVers:
		default:
			t.Fatalf("rcode %s", dns.RcodeToString[r.Rcode])
		}
		// Two commands (wake, boot.install) times two named machines from
		// bare names, once each within the hour, and once more for each
		// of the tokens of those that the seeds hold: none can be guessed.
		if n := runs.Load(); n > 8 {
			t.Fatalf("commands ran %d times", n)
		}
	})
}

// TestMalformedOverUDP sends broken messages to a real server: each gets
// FORMERR, NOTIMP, BADVERS or REFUSED (a class cut short reads as 0),
// or no reply when the header is unreadable, and the
// server answers the next good query.
func TestMalformedOverUDP(t *testing.T) {
	f := newFixture(t, nil)
	conn, err := net.Dial("udp", f.srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	good, _ := new(dns.Msg).SetQuestion("kiosk-01.pxe.", dns.TypeA).Pack()
	rcodes := map[int]int{}
	for _, b := range fuzzSeeds(t)[80:] {
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		// The good query follows; replies come in order or not at all.
		if _, err := conn.Write(good); err != nil {
			t.Fatal(err)
		}
		for {
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			buf := make([]byte, 65535)
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("after %x: %v", b, err)
			}
			r := new(dns.Msg)
			if err := r.Unpack(buf[:n]); err != nil {
				t.Fatalf("after %x: reply does not unpack: %v", b, err)
			}
			if len(r.Answer) == 1 {
				break // the good query's answer
			}
			rcodes[r.Rcode]++
			switch r.Rcode {
			case dns.RcodeFormatError, dns.RcodeNotImplemented, dns.RcodeBadVers, dns.RcodeRefused:
			default:
				t.Errorf("reply to %x: %s, want FORMERR, NOTIMP, BADVERS or REFUSED", b, dns.RcodeToString[r.Rcode])
			}
		}
	}
	if rcodes[dns.RcodeFormatError] < 4 || rcodes[dns.RcodeNotImplemented] != 1 || rcodes[dns.RcodeBadVers] != 1 {
		t.Errorf("replies by rcode %v, want at least 4 FORMERR, one NOTIMP and one BADVERS", rcodes)
	}
}
