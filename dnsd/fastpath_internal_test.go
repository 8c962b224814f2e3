package dnsd

import (
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/memstore"
)

// fastHandler is a StoreHandler over a few machines, with an audit
// recorder when rec is set.
func fastHandler(t testing.TB, rec *audittest.Recorder) *StoreHandler {
	t.Helper()
	store := memstore.New()
	for i, name := range []string{"kiosk-01", "Web", "a.b", "", "x-" + string(make([]byte, 0))} {
		m := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, byte(i + 1)},
			IP: netip.AddrFrom4([4]byte{10, 0, 0, byte(11 + i)}), Hostname: name}
		if name == "x-" {
			m.Hostname = "long-" + string(slices.Repeat([]byte("a"), 55)) + "." + string(slices.Repeat([]byte("b"), 60))
		}
		if err := store.Put(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Config{Zone: "pxe", Store: store, Server: netip.MustParseAddr("10.0.0.1"),
		Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}}
	if rec != nil {
		cfg.Recorder = rec
	}
	h, err := NewStoreHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// replyWriter keeps the reply of ServeDNS.
type replyWriter struct{ reply *dns.Msg }

func (w *replyWriter) LocalAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53}
}
func (w *replyWriter) RemoteAddr() net.Addr        { return fastClient }
func (w *replyWriter) WriteMsg(m *dns.Msg) error   { w.reply = m; return nil }
func (w *replyWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *replyWriter) Close() error                { return nil }
func (w *replyWriter) TsigStatus() error           { return nil }
func (w *replyWriter) TsigTimersOnly(bool)         {}
func (w *replyWriter) Hijack()                     {}

var fastClient = &net.UDPAddr{IP: net.IPv4(10, 0, 0, 99), Port: 5353}

// sameAsFullPath checks that when the fast path answers q, its reply
// says what the full path's reply says.
func sameAsFullPath(t *testing.T, h *StoreHandler, q []byte) (answered bool) {
	t.Helper()
	out := make([]byte, fastMaxReply)
	n, ok := h.answerPacket(q, out, fastClient)
	if !ok {
		return false
	}
	req := new(dns.Msg)
	if err := req.Unpack(q); err != nil {
		t.Fatalf("the fast path answered a query the full path cannot unpack (%v): % x", err, q)
	}
	w := &replyWriter{}
	h.ServeDNS(w, req)
	got := new(dns.Msg)
	if err := got.Unpack(out[:n]); err != nil {
		t.Fatalf("the fast path's reply does not unpack: %v: % x", err, out[:n])
	}
	if got.String() != w.reply.String() {
		t.Fatalf("query % x:\nfast path:\n%v\nfull path:\n%v", q, got, w.reply)
	}
	return true
}

func TestFastPathAnswersAsFullPath(t *testing.T) {
	h := fastHandler(t, nil)
	tests := []struct {
		name  string
		qtype uint16
		edns  bool
		rd    bool
		fast  bool // the fast path answers it
	}{
		{"kiosk-01.pxe.", dns.TypeA, false, true, true},
		{"KIOSK-01.PXE.", dns.TypeA, true, false, true},
		{"web.pxe.", dns.TypeA, false, false, true},
		{"a.b.pxe.", dns.TypeA, false, false, true},
		{"11.0.0.10.in-addr.arpa.", dns.TypePTR, false, true, true},
		{"12.0.0.10.IN-ADDR.ARPA.", dns.TypePTR, true, true, true},
		{"15.0.0.10.in-addr.arpa.", dns.TypePTR, true, false, true},   // a 127-byte name: still fits
		{"14.0.0.10.in-addr.arpa.", dns.TypePTR, false, false, false}, // no hostname
		{"99.0.0.10.in-addr.arpa.", dns.TypePTR, false, false, false}, // unknown
		{"11.0.0.11.in-addr.arpa.", dns.TypePTR, false, false, false}, // not a reverse zone of ours
		{"011.0.0.10.in-addr.arpa.", dns.TypePTR, false, false, false},
		{"missing.pxe.", dns.TypeA, false, false, false},
		{"pxe.", dns.TypeA, false, false, false},
		{"ns.pxe.", dns.TypeA, false, false, false},
		{"kiosk-01.do.pxe.", dns.TypeA, false, false, false},
		{"wake.kiosk-01.do.pxe.", dns.TypeA, false, false, false},
		{"kiosk-01.pxe.", dns.TypeAAAA, false, false, false},
		{"kiosk-01.pxe.", dns.TypeANY, false, false, false},
		{"example.com.", dns.TypeA, false, false, false},
	}
	for _, tt := range tests {
		m := new(dns.Msg).SetQuestion(tt.name, tt.qtype)
		m.Id, m.RecursionDesired = 0x4242, tt.rd
		if tt.edns {
			m.SetEdns0(1400, true)
		}
		q, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		if got := sameAsFullPath(t, h, q); got != tt.fast {
			t.Errorf("%s %s: fast path answered %t, want %t", tt.name, dns.TypeToString[tt.qtype], got, tt.fast)
		}
	}
}

// TestFastPathRecords: a query answered on the fast path is audited like
// one of the full path.
func TestFastPathRecords(t *testing.T) {
	rec := &audittest.Recorder{}
	h := fastHandler(t, rec)
	q, _ := new(dns.Msg).SetQuestion("Kiosk-01.pxe.", dns.TypeA).Pack()
	if n, ok := h.answerPacket(q, make([]byte, fastMaxReply), fastClient); !ok || n == 0 {
		t.Fatal("not answered on the fast path")
	}
	if n := h.Stats().Rcodes["NOERROR"]; n != 1 {
		t.Errorf("Stats().Rcodes[NOERROR] = %d after one answer, want 1", n)
	}
	evs := rec.Find("dnsd", "query")
	if len(evs) != 1 {
		t.Fatalf("events: %+v", evs)
	}
	e := evs[0]
	if e.IP != netip.MustParseAddr("10.0.0.99") || e.Hostname != "kiosk-01" || e.MAC.String() != "52:54:00:00:00:01" ||
		e.Fields["name"] != "kiosk-01.pxe." || e.Fields["type"] != "A" || e.Fields["rcode"] != "NOERROR" || e.Fields["proto"] != "udp" {
		t.Errorf("event %+v", e)
	}
}

// FuzzFastPath: on any bytes the fast path does not panic, and what it
// answers it answers as the full path does.
func FuzzFastPath(f *testing.F) {
	for _, name := range []string{"kiosk-01.pxe.", "web.pxe.", "11.0.0.10.in-addr.arpa.", "missing.pxe.", "pxe."} {
		for _, ty := range []uint16{dns.TypeA, dns.TypePTR} {
			m := new(dns.Msg).SetQuestion(name, ty)
			b, _ := m.Pack()
			f.Add(b)
			m.SetEdns0(1232, true)
			b, _ = m.Pack()
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, q []byte) {
		h := fastHandler(t, nil)
		sameAsFullPath(t, h, q)
	})
}
