package dhcpd_test

// Tests of what forged and stray packets cannot do to a StoreHandler
// (issue 14): take the pool, run over the new-machine limit through forged
// relays, move a machine with a DECLINE, draw a NAK for another server's
// client, or flood the log.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/dhcpd/dhcptest"
	"github.com/pxelator/pxelator/memstore"
)

// handle serves req with h, waits until the writes it started are done
// and their replies sent, and returns the replies.
func handle(t testing.TB, h *dhcpd.StoreHandler, req *dhcpd.Request) []*dhcpv4.DHCPv4 {
	t.Helper()
	w := &dhcptest.ResponseRecorder{}
	h.ServeDHCP(context.Background(), w, req)
	if err := h.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return w.Replies()
}

// newReq builds the request a server hands its handler for a packet of
// type t from mac, received on interface eth0 (index 1).
func newReq(t testing.TB, typ dhcpv4.MessageType, mac net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcpd.Request {
	t.Helper()
	p, err := dhcpv4.New(append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac), dhcpv4.WithMessageType(typ)}, mods...)...)
	if err != nil {
		t.Fatal(err)
	}
	return dhcptest.NewRequest(p)
}

// dora runs DISCOVER, OFFER, REQUEST, ACK for mac through h and returns
// the OFFER and the answer to the REQUEST; each is nil when there was
// none. edit, when not nil, changes both requests as they arrive.
func dora(t testing.TB, h *dhcpd.StoreHandler, mac net.HardwareAddr, edit func(*dhcpd.Request)) (offer, ack *dhcpv4.DHCPv4) {
	t.Helper()
	if edit == nil {
		edit = func(*dhcpd.Request) {}
	}
	req := newReq(t, dhcpv4.MessageTypeDiscover, mac, dhcpv4.WithGatewayIP(nil))
	edit(req)
	rs := handle(t, h, req)
	if len(rs) == 0 {
		return nil, nil
	}
	offer = rs[0]
	r, err := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithGatewayIP(req.Packet.GatewayIPAddr))
	if err != nil {
		t.Fatal(err)
	}
	req = dhcptest.NewRequest(r)
	edit(req)
	if rs = handle(t, h, req); len(rs) > 0 {
		ack = rs[0]
	}
	return offer, ack
}

func machines(t testing.TB, store pxelator.Store) []pxelator.Machine {
	t.Helper()
	ms, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// Finding 3: 151 forged DISCOVERs took the reference server's whole
// default pool for good, as a DISCOVER alone wrote a machine to the store.
// Now an OFFER holds its address in memory only: ten times the pool in
// forged DISCOVERs writes nothing, and a real client still gets an
// address.
func TestDiscoverStormWritesNothing(t *testing.T) {
	store := memstore.New()
	h := newHandler(t, store, testConfig("10.77.0.100", "10.77.0.250")) // 151 addresses, the default pool's size
	const storm = 10 * 151
	offered := 0
	for i := range storm {
		offered += len(handle(t, h, newReq(t, dhcpv4.MessageTypeDiscover, macN(1<<20+i))))
	}
	if ms := machines(t, store); len(ms) != 0 {
		t.Errorf("%d DISCOVERs from random MACs wrote %d machines, want none", storm, len(ms))
	}
	if offered != storm {
		t.Errorf("%d of %d DISCOVERs offered: a full pool of offers must give way to new ones", offered, storm)
	}
	_, ack := dora(t, h, testMAC, nil)
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("a real client after the storm got %v, want an ACK", ack)
	}
	if ms := machines(t, store); len(ms) != 1 || ms[0].MAC.String() != testMAC.String() || !ack.YourIPAddr.Equal(ms[0].IP.AsSlice()) {
		t.Errorf("store after the storm and one real client: %v", ms)
	}
}

// An OFFER holds its address for its MAC while other addresses are free;
// once every address is offered, the oldest offer gives way. A REQUEST
// for an address offered to another MAC is refused.
func TestOffersHoldTheirAddress(t *testing.T) {
	h := newHandler(t, memstore.New(), testConfig("10.77.0.10", "10.77.0.11"))
	offerTo := func(mac net.HardwareAddr) string {
		rs := handle(t, h, newReq(t, dhcpv4.MessageTypeDiscover, mac))
		if len(rs) != 1 {
			t.Fatalf("DISCOVER from %v: %d replies", mac, len(rs))
		}
		return rs[0].YourIPAddr.String()
	}
	steps := []struct {
		mac  int
		want string
	}{
		{1, "10.77.0.10"},
		{2, "10.77.0.11"},
		{1, "10.77.0.10"}, // the same MAC asking again keeps its offer
		{3, "10.77.0.11"}, // the pool is all offers: 2's is the oldest
		{2, "10.77.0.10"}, // and now 1's
	}
	for i, s := range steps {
		if got := offerTo(macN(s.mac)); got != s.want {
			t.Errorf("step %d: MAC %d offered %s, want %s", i, s.mac, got, s.want)
		}
	}
	// 3 holds .11: a REQUEST of 1 for it is refused.
	r := newReq(t, dhcpv4.MessageTypeRequest, macN(1), dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(10, 77, 0, 11))),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverIP.AsSlice())))
	if rs := handle(t, h, r); len(rs) != 1 || rs[0].MessageType() != dhcpv4.MessageTypeNak {
		t.Errorf("REQUEST for an address offered to another MAC: %v, want a NAK", rs)
	}
}

// Finding 3: with a limit, forged relay addresses each got their own
// bucket. Now a relayed request is answered only from a configured relay,
// and the relays of one interface share one bucket.
func TestNewMachineLimit(t *testing.T) {
	relayed := func(src string) func(i int, req *dhcpd.Request) {
		return func(i int, req *dhcpd.Request) {
			peer := netip.MustParseAddr(fmt.Sprintf(src, i))
			req.Packet.GatewayIPAddr = net.IPv4(10, 2, byte(i), 1)
			req.Relay = netip.AddrFrom4([4]byte{10, 2, byte(i), 1})
			req.Peer = netip.AddrPortFrom(peer, dhcpd.ServerPort)
		}
	}
	onIface := func(i int, req *dhcpd.Request) { req.IfIndex, req.IfName = 1+i%2, fmt.Sprintf("eth%d", i%2) }
	tests := []struct {
		name    string
		limit   dhcpd.Limit
		from    func(i int, req *dhcpd.Request)
		wantNew int
	}{
		{"clients of one interface share a bucket", dhcpd.Limit{Burst: 5, Rate: 1e-9}, func(int, *dhcpd.Request) {}, 5},
		{"each interface has a bucket", dhcpd.Limit{Burst: 5, Rate: 1e-9}, onIface, 10},
		{"the relays of one interface share a bucket", dhcpd.Limit{Burst: 5, Rate: 1e-9}, relayed("10.1.0.%d"), 5},
		{"relays that are not configured get nothing", dhcpd.Limit{Burst: 5, Rate: 1e-9}, relayed("192.0.2.%d"), 0},
		{"no limit", dhcpd.Limit{Burst: -1}, relayed("10.1.0.%d"), 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memstore.New()
			cfg := testConfig("10.77.0.100", "10.77.0.200")
			cfg.Relays = append(cfg.Relays, netip.MustParsePrefix("10.1.0.0/16"))
			cfg.Limit = tt.limit
			h := newHandler(t, store, cfg)
			acks := 0
			for i := range 30 {
				if _, ack := dora(t, h, macN(i), func(r *dhcpd.Request) { tt.from(i, r) }); ack != nil {
					acks++
				}
			}
			if n := len(machines(t, store)); n != tt.wantNew || acks != tt.wantNew {
				t.Errorf("30 new MACs: %d machines written, %d ACKs; want %d", n, acks, tt.wantNew)
			}
		})
	}
}

// The new-machine limit is on by default: the zero Limit is DefaultBurst
// new machines at once, then DefaultRate per second.
func TestDefaultLimitIsOn(t *testing.T) {
	store := memstore.New()
	h := newHandler(t, store, testConfig("10.77.1.0", "10.77.9.255"))
	const n = dhcpd.DefaultBurst + 1000
	start := time.Now()
	for i := range n {
		dora(t, h, macN(i), nil)
	}
	elapsed := time.Since(start)
	most := dhcpd.DefaultBurst + int(math.Ceil(dhcpd.DefaultRate*elapsed.Seconds())) + 1
	if got := len(machines(t, store)); got < dhcpd.DefaultBurst || got > most {
		t.Errorf("%d new MACs in %v: %d machines, want %d to %d", n, elapsed, got, dhcpd.DefaultBurst, most)
	}
}

// Finding 3: an unauthenticated DECLINE moved a known machine to a new
// address and burned the old one for good. Now a DECLINE is believed only
// from a client for the address this server gave it, and the address
// comes back after the quarantine.
func TestDeclineOnlyForHeldAddress(t *testing.T) {
	tests := []struct {
		name     string
		restart  bool   // the server starts again between the lease and the DECLINE
		person   bool   // a person named the machine after its lease
		ip       string // the address declined; "" for the machine's own
		noSID    bool   // no server identifier
		believed bool
	}{
		{name: "forged: no lease from this server", restart: true},
		{name: "forged: no server identifier", noSID: true},
		{name: "forged: another address", ip: "10.77.0.11"},
		{name: "after its ACK", believed: true},
		{name: "after its ACK, a machine a person named", person: true, believed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			store := memstore.New()
			cfg := testConfig("10.77.0.10", "10.77.0.12")
			h := newHandler(t, store, cfg)
			if _, ack := dora(t, h, testMAC, nil); ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
				t.Fatalf("first lease: %v", ack)
			}
			m, err := store.ByMAC(ctx, testMAC)
			if err != nil {
				t.Fatal(err)
			}
			if tt.person {
				m.Hostname = "kiosk-01"
				if err := store.Put(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			if tt.restart {
				h = newHandler(t, store, cfg)
			}
			ip := m.IP
			if tt.ip != "" {
				ip = netip.MustParseAddr(tt.ip)
			}
			mods := []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ip.AsSlice()))}
			if !tt.noSID {
				mods = append(mods, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverIP.AsSlice())))
			}
			handle(t, h, newReq(t, dhcpv4.MessageTypeDecline, testMAC, mods...))

			after, err := store.ByMAC(ctx, testMAC)
			switch {
			case !tt.believed || tt.person: // the machine keeps its address
				if err != nil || after.IP != m.IP {
					t.Fatalf("after the DECLINE the machine is %v, %v; want it at %v", after, err, m.IP)
				}
			case err == nil:
				t.Fatalf("after a believed DECLINE the machine DHCP made is still at %v", after.IP)
			}
			// A new MAC gets an address other than the machine's; a
			// declined one is not among them.
			for i := range 2 {
				_, ack := dora(t, h, macN(i), nil)
				if ack == nil {
					continue
				}
				got := netip.MustParseAddr(ack.YourIPAddr.String())
				if got == m.IP && tt.believed {
					t.Errorf("declined address %v handed out again at once", got)
				}
			}
		})
	}
}

// A declined address comes back once its quarantine is over.
func TestDeclinedAddressComesBack(t *testing.T) {
	store := memstore.New()
	cfg := testConfig("10.77.0.10", "10.77.0.11")
	// The quarantine lasts as long as the lease the client declined
	// would have run, at least: a client whose DECLINE was forged may
	// use the address till then.
	cfg.Quarantine, cfg.LeaseTime = 100*time.Millisecond, 100*time.Millisecond
	h := newHandler(t, store, cfg)
	_, ack := dora(t, h, testMAC, nil)
	if ack == nil || ack.YourIPAddr.String() != "10.77.0.10" {
		t.Fatalf("first lease: %v", ack)
	}
	handle(t, h, newReq(t, dhcpv4.MessageTypeDecline, testMAC, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(ack.YourIPAddr)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverIP.AsSlice()))))
	if _, ack := dora(t, h, testMAC, nil); ack == nil || ack.YourIPAddr.String() != "10.77.0.11" {
		t.Fatalf("after its DECLINE the client got %v, want 10.77.0.11", ack)
	}
	time.Sleep(2 * cfg.Quarantine)
	if _, ack := dora(t, h, macN(1), nil); ack == nil || ack.YourIPAddr.String() != "10.77.0.10" {
		t.Errorf("after the quarantine a new client got %v, want the declined 10.77.0.10", ack)
	}
}

// Machines that DHCP made, that nobody touched and whose lease has run
// out are taken back when the pool is full; a machine a person touched,
// or made, never is.
func TestReclaimExpiredMachines(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	cfg := testConfig("10.77.0.10", "10.77.0.12")
	cfg.LeaseTime = 200 * time.Millisecond
	// Before the start: a machine a person made by hand in the range.
	byHand := pxelator.Machine{MAC: macN(9), IP: netip.MustParseAddr("10.77.0.12"), Server: serverIP}
	if err := store.Put(ctx, byHand); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, store, cfg)
	for i, want := range []string{"10.77.0.10", "10.77.0.11"} {
		if _, ack := dora(t, h, macN(i), nil); ack == nil || ack.YourIPAddr.String() != want {
			t.Fatalf("MAC %d: %v, want %s", i, ack, want)
		}
	}
	if m, _ := store.ByMAC(ctx, macN(0)); m.Get(dhcpd.AttrCreated) == "" {
		t.Errorf("a new machine has no %s: %v", dhcpd.AttrCreated, m)
	}
	named, _ := store.ByMAC(ctx, macN(1))
	named.Hostname = "kiosk-02"
	if err := store.Put(ctx, named); err != nil {
		t.Fatal(err)
	}
	// Twice: the first new MAC takes back machine 0, the second the first.
	for i := range 2 {
		time.Sleep(2 * cfg.LeaseTime)
		_, ack := dora(t, h, macN(10+i), nil)
		if ack == nil || ack.YourIPAddr.String() != "10.77.0.10" {
			t.Fatalf("new MAC %d in a full pool of expired leases got %v, want 10.77.0.10", 10+i, ack)
		}
	}
	ms := machines(t, store)
	if len(ms) != 3 || ms[0].MAC.String() != macN(11).String() || ms[1].Hostname != "kiosk-02" || ms[2].MAC.String() != byHand.MAC.String() {
		t.Errorf("store after reclaiming: %v; want 11's machine, kiosk-02 and the one made by hand", ms)
	}
}

// Finding 4: an INIT-REBOOT REQUEST from a client this server does not
// know drew a NAK, and wrote a machine; RFC 2131 §4.3.2 says to stay
// silent, for the sake of the other DHCP servers on the wire.
func TestRequestStates(t *testing.T) {
	sid := func(ip string) dhcpv4.Modifier {
		return dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.ParseIP(ip)))
	}
	want := func(ip string) dhcpv4.Modifier {
		return dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.ParseIP(ip)))
	}
	ciaddr := func(ip string) dhcpv4.Modifier { return dhcpv4.WithClientIP(net.ParseIP(ip)) }
	tests := []struct {
		name  string
		known bool // the client has a machine, at 10.77.0.100
		mods  []dhcpv4.Modifier
		reply dhcpv4.MessageType // 0: no reply
	}{
		{"INIT-REBOOT, unknown client", false, []dhcpv4.Modifier{want("10.77.0.150")}, 0},
		{"INIT-REBOOT, unknown client, another network", false, []dhcpv4.Modifier{want("192.168.7.7")}, 0},
		{"REBINDING, unknown client", false, []dhcpv4.Modifier{ciaddr("10.77.0.150")}, 0},
		{"SELECTING another server", false, []dhcpv4.Modifier{sid("10.77.0.2"), want("10.77.0.150")}, 0},
		{"SELECTING this server, a free address", false, []dhcpv4.Modifier{sid("10.77.0.1"), want("10.77.0.150")}, dhcpv4.MessageTypeAck},
		{"SELECTING this server, another machine's address", false, []dhcpv4.Modifier{sid("10.77.0.1"), want("10.77.0.100")}, dhcpv4.MessageTypeNak},
		{"INIT-REBOOT, known client, its address", true, []dhcpv4.Modifier{want("10.77.0.100")}, dhcpv4.MessageTypeAck},
		{"INIT-REBOOT, known client, another address", true, []dhcpv4.Modifier{want("10.77.0.150")}, dhcpv4.MessageTypeNak},
		{"RENEWING, known client", true, []dhcpv4.Modifier{ciaddr("10.77.0.100")}, dhcpv4.MessageTypeAck},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			store := memstore.New()
			other := pxelator.Machine{MAC: macN(7), IP: netip.MustParseAddr("10.77.0.100"), Server: serverIP}
			if tt.known {
				other.MAC = testMAC
			}
			if err := store.Put(ctx, other); err != nil {
				t.Fatal(err)
			}
			h := newHandler(t, store, testConfig("10.77.0.100", "10.77.0.200"))
			rs := handle(t, h, newReq(t, dhcpv4.MessageTypeRequest, testMAC, tt.mods...))
			switch {
			case tt.reply == 0 && len(rs) != 0:
				t.Errorf("got %v (%s), want silence", rs[0].MessageType(), rs[0].Message())
			case tt.reply != 0 && (len(rs) != 1 || rs[0].MessageType() != tt.reply):
				t.Errorf("got %v, want one %v", rs, tt.reply)
			}
			if n := len(machines(t, store)); tt.reply != dhcpv4.MessageTypeAck && n != 1 {
				t.Errorf("the store holds %d machines, want the 1 it had", n)
			}
		})
	}
}

// countingHandler counts the log records at each level.
type countingHandler struct {
	mu     sync.Mutex
	counts map[slog.Level]int
	msgs   []string
}

func (c *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (c *countingHandler) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *countingHandler) WithGroup(string) slog.Handler            { return c }
func (c *countingHandler) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[slog.Level]int{}
	}
	c.counts[r.Level]++
	c.msgs = append(c.msgs, r.Level.String()+" "+r.Message)
	return nil
}

// failingStore refuses every write, as a full disk does.
type failingStore struct{ pxelator.Store }

func (failingStore) Put(context.Context, pxelator.Machine) error {
	return errors.New("no space left on device")
}

// Finding 4: a bad hardware-address length logged an ERROR per packet.
// Per-packet logs are rate-limited: a flood of packets that fail the same
// way logs one line.
func TestPerPacketLogsThrottled(t *testing.T) {
	tests := []struct {
		name  string
		store pxelator.Store
		mac   func(i int) net.HardwareAddr
	}{
		{"hardware address of 3 bytes", memstore.New(), func(i int) net.HardwareAddr { return macN(i)[3:] }},
		{"hardware address of 16 bytes", memstore.New(), func(i int) net.HardwareAddr { return append(make(net.HardwareAddr, 10), macN(i)...) }},
		{"a store that refuses every write", failingStore{memstore.New()}, macN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := &countingHandler{}
			cfg := testConfig("10.77.0.100", "10.77.0.200")
			cfg.Logger = slog.New(logs)
			h := newHandler(t, tt.store, cfg)
			acks := 0
			for i := range 50 {
				if _, ack := dora(t, h, tt.mac(i), nil); ack != nil && ack.MessageType() == dhcpv4.MessageTypeAck {
					acks++
				}
			}
			if acks != 0 {
				t.Errorf("%d ACKs for machines the store cannot hold", acks)
			}
			logs.mu.Lock()
			defer logs.mu.Unlock()
			if len(logs.msgs) > 1 {
				t.Errorf("50 failing clients logged %d lines, want at most 1: %q", len(logs.msgs), logs.msgs)
			}
		})
	}
}
