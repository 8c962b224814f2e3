package dhcpd_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/dhcpd/dhcptest"
	"github.com/pxelator/pxelator/memstore"
)

var serverIP = netip.MustParseAddr("10.77.0.1")

func testConfig(first, last string) dhcpd.Config {
	return dhcpd.Config{
		ServerIP:  serverIP,
		First:     netip.MustParseAddr(first),
		Last:      netip.MustParseAddr(last),
		Subnet:    netip.MustParsePrefix("10.77.0.0/16"),
		Router:    serverIP,
		DNS:       []netip.Addr{serverIP},
		LogServer: serverIP,
		Domain:    "lab.example",
		LeaseTime: 10 * time.Minute,
		Logger:    slog.New(slog.DiscardHandler),
		Relays:    []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, // the clients of dhcptest are their own relays
	}
}

// serve starts srv on an ephemeral loopback port and returns its address.
func serve(t *testing.T, srv *dhcpd.Server) string { return serveB(t, srv) }

func serveB(t testing.TB, srv *dhcpd.Server) string {
	t.Helper()
	return serveWrapped(t, srv, func(c net.PacketConn) net.PacketConn { return c })
}

// serveWrapped is serve with the socket handed to srv through wrap.
func serveWrapped(t testing.TB, srv *dhcpd.Server, wrap func(net.PacketConn) net.PacketConn) string {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(wrap(conn)) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, dhcpd.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return conn.LocalAddr().String()
}

func newHandler(t *testing.T, store pxelator.Store, cfg dhcpd.Config) *dhcpd.StoreHandler {
	t.Helper()
	h, err := dhcpd.NewStoreHandler(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func client(t *testing.T, addr string, mac net.HardwareAddr, mods ...dhcpv4.Modifier) *dhcptest.Client {
	t.Helper()
	c, err := dhcptest.NewClient(addr, mac, mods...)
	if err != nil {
		t.Fatal(err)
	}
	// Loopback loses nothing: a retransmission would only be noise in
	// tests that count replies, so allow a slow -race machine plenty.
	c.Retry = time.Minute
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func macN(n int) net.HardwareAddr {
	return net.HardwareAddr{0x52, 0x54, 0x00, byte(n >> 16), byte(n >> 8), byte(n)}
}

func TestDORA(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	rec := &audittest.Recorder{}
	cfg := testConfig("10.77.0.100", "10.77.0.200")
	srv := &dhcpd.Server{Handler: newHandler(t, store, cfg), Recorder: rec}
	c := client(t, serve(t, srv), testMAC, dhcptest.IPXEBIOS()...)

	offer, ack, err := c.DORA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.ByMAC(ctx, testMAC)
	if err != nil {
		t.Fatalf("new machine not in the store when the ACK came: %v", err)
	}
	if m.IP.String() != "10.77.0.100" || m.Server != serverIP || offer.YourIPAddr.String() != "10.77.0.100" || !ack.YourIPAddr.Equal(offer.YourIPAddr) {
		t.Errorf("machine %v, offer %v, ack %v, want 10.77.0.100 on server %v", m, offer.YourIPAddr, ack.YourIPAddr, serverIP)
	}
	// A person names the machine; the next exchange carries the name.
	m.Hostname = "kiosk-01"
	if err := store.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	offer, ack, err = c.DORA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*dhcpv4.DHCPv4{offer, ack} {
		checks := []struct{ name, got, want string }{
			{"yiaddr", p.YourIPAddr.String(), "10.77.0.100"},
			{"mask", net.IP(p.SubnetMask()).String(), "255.255.0.0"},
			{"router", fmt.Sprint(p.Router()), "[10.77.0.1]"},
			{"dns", fmt.Sprint(p.DNS()), "[10.77.0.1]"},
			{"log server", net.IP(p.Options.Get(dhcpv4.OptionLogServer)).String(), "10.77.0.1"},
			{"hostname", p.HostName(), "kiosk-01"},
			{"domain", p.DomainName(), "lab.example"},
			{"lease", p.IPAddressLeaseTime(0).String(), "10m0s"},
			{"server id", p.ServerIdentifier().String(), "10.77.0.1"},
			{"siaddr", p.ServerIPAddr.String(), "10.77.0.1"},
			{"file (iPXE gets the script)", p.BootFileName, "http://10.77.0.1/boot.ipxe"},
			{"option 67", p.BootFileNameOption(), "http://10.77.0.1/boot.ipxe"},
			{"option 60", p.ClassIdentifier(), "PXEClient"},
			{"giaddr", p.GatewayIPAddr.String(), "127.0.0.1"},
		}
		for _, ch := range checks {
			if ch.got != ch.want {
				t.Errorf("%v %s = %q, want %q", p.MessageType(), ch.name, ch.got, ch.want)
			}
		}
	}
	// The four packets of one exchange share one audit document: the
	// client's MAC is their ident.
	for _, action := range []string{"discover", "offer", "request", "ack"} {
		e, ok := rec.Wait(ctx, func(e audit.Event) bool { return e.Action == action && e.Package == "dhcpd" })
		if !ok {
			t.Errorf("no %q audit event", action)
		} else if !strings.HasSuffix(e.ID(), ".dhcpd."+testMAC.String()) {
			t.Errorf("%q event id %s, want it to end in the MAC", action, e.ID())
		}
	}
}

func TestKnownMACKeepsAddressAfterRestart(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	cfg := testConfig("10.77.0.100", "10.77.0.200")
	var first []string
	for run := range 2 {
		srv := &dhcpd.Server{Handler: newHandler(t, store, cfg)}
		addr := serve(t, srv)
		var got []string
		for i := range 3 {
			_, ack, err := client(t, addr, macN(3-i)).DORA(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, ack.YourIPAddr.String())
		}
		if run == 0 {
			first = got
			continue
		}
		if !slices.Equal(got, first) {
			t.Errorf("after restart got %v, want %v", got, first)
		}
	}
}

func TestConcurrentAllocation(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	srv := &dhcpd.Server{Handler: newHandler(t, store, testConfig("10.77.1.0", "10.77.3.255")), Workers: 16}
	addr := serve(t, srv)
	const machines, tries = 40, 3
	got := make([][]string, machines)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for i := range machines {
		for range tries { // the same MAC from several clients at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := dhcptest.NewClient(addr, macN(i))
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				_, ack, err := c.DORA(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				ip := ack.YourIPAddr.String()
				mu.Lock()
				got[i] = append(got[i], ip)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	seen := map[string]int{}
	for i, ips := range got {
		if len(ips) != tries || ips[0] != ips[1] || ips[1] != ips[2] {
			t.Errorf("MAC %v got %v, want one address %d times", macN(i), ips, tries)
			continue
		}
		if j, ok := seen[ips[0]]; ok {
			t.Errorf("MACs %v and %v both got %v", macN(i), macN(j), ips[0])
		}
		seen[ips[0]] = i
	}
	if ms, _ := store.List(ctx); len(ms) != machines {
		t.Errorf("store holds %d machines, want %d", len(ms), machines)
	}
}

func TestPoolFull(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	rec := &audittest.Recorder{}
	cfg := testConfig("10.77.0.10", "10.77.0.11")
	cfg.Recorder = rec
	srv := &dhcpd.Server{Handler: newHandler(t, store, cfg)}
	addr := serve(t, srv)
	for i := range 2 {
		if _, _, err := client(t, addr, macN(i)).DORA(ctx); err != nil {
			t.Fatal(err)
		}
	}
	c := client(t, addr, macN(9))
	p, _ := c.New(dhcpv4.MessageTypeDiscover)
	if err := c.SendBytes(p.ToBytes()); err != nil {
		t.Fatal(err)
	}
	e, ok := rec.Wait(ctx, func(e audit.Event) bool { return e.Action == "pool-full" })
	if !ok || e.MAC.String() != macN(9).String() {
		t.Fatalf("pool-full event = %+v, %v", e, ok)
	}
	// Known machines are still served.
	if _, ack, err := client(t, addr, macN(1)).DORA(ctx); err != nil || ack.YourIPAddr.String() != "10.77.0.11" {
		t.Fatalf("known machine in a full pool: %v, %v", ack, err)
	}
}

func TestRequestWrongAddressNAK(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	// One worker: packets are handled in the order they were sent.
	srv := &dhcpd.Server{Handler: newHandler(t, store, testConfig("10.77.0.100", "10.77.0.200")), Workers: 1}
	c := client(t, serve(t, srv), testMAC)
	if _, _, err := c.DORA(ctx); err != nil {
		t.Fatal(err)
	}
	// INIT-REBOOT with an address that is not the machine's.
	p, _ := c.New(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(10, 77, 0, 150))))
	r, err := c.Exchange(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.MessageType() != dhcpv4.MessageTypeNak {
		t.Errorf("got %v, want NAK", r.MessageType())
	}
	// A REQUEST for another server's offer gets no answer: the next reply
	// is the one to a later DISCOVER.
	p, _ = c.New(dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 77, 0, 2))))
	c.SendBytes(p.ToBytes())
	d, _ := c.New(dhcpv4.MessageTypeDiscover)
	if _, err := c.Exchange(ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := srv.Stats().Replies; got != 4 {
		t.Errorf("replies = %d, want 4 (offer, ack, nak, offer)", got)
	}
}

func TestBOOTP(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	srv := &dhcpd.Server{Handler: newHandler(t, store, testConfig("10.77.0.100", "10.77.0.200"))}
	c := client(t, serve(t, srv), testMAC)
	p, _ := c.New(0)
	r, err := c.Exchange(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Options.Has(dhcpv4.OptionDHCPMessageType) || r.Options.Has(dhcpv4.OptionIPAddressLeaseTime) {
		t.Errorf("BOOTP reply has DHCP options: %v", r)
	}
	if r.YourIPAddr.String() != "10.77.0.100" || r.BootFileName != "pxelinux.0" || r.ServerIPAddr.String() != "10.77.0.1" {
		t.Errorf("BOOTP reply yiaddr %v file %q siaddr %v", r.YourIPAddr, r.BootFileName, r.ServerIPAddr)
	}
	if m, err := store.ByMAC(ctx, testMAC); err != nil || m.IP.String() != "10.77.0.100" {
		t.Errorf("BOOTP machine in store: %v, %v", m, err)
	}
}

func TestNoNetboot(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	m := pxelator.Machine{MAC: testMAC, IP: netip.MustParseAddr("10.77.0.50"), Server: serverIP}
	m.Set(pxelator.AttrNetboot, "false")
	if err := store.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	srv := &dhcpd.Server{Handler: newHandler(t, store, testConfig("10.77.0.100", "10.77.0.200"))}
	_, ack, err := client(t, serve(t, srv), testMAC, dhcptest.PXEFirmware(iana.EFI_X86_64)...).DORA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ack.YourIPAddr.String() != "10.77.0.50" || ack.BootFileName != "" || ack.ServerIPAddr.String() != "0.0.0.0" {
		t.Errorf("no-netboot machine got %v file %q siaddr %v", ack.YourIPAddr, ack.BootFileName, ack.ServerIPAddr)
	}
}

func TestProxyDHCP(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	cfg := dhcpd.Config{ServerIP: serverIP, Proxy: true, Relays: testConfig("10.77.0.1", "10.77.0.1").Relays}
	srv := &dhcpd.Server{Handler: newHandler(t, store, cfg), Workers: 1}
	addr := serve(t, srv)

	// A client that is not PXE gets nothing; with one worker the packets
	// are handled in order, so the first reply must be the PXE one.
	plain := client(t, addr, macN(1))
	p, _ := plain.New(dhcpv4.MessageTypeDiscover)
	plain.SendBytes(p.ToBytes())

	c := client(t, addr, testMAC, dhcptest.PXEFirmware(iana.EFI_X86_64)...)
	offer, err := c.Discover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !offer.YourIPAddr.Equal(net.IPv4zero) || offer.BootFileName != "ipxe.efi" || offer.ClassIdentifier() != "PXEClient" ||
		offer.ServerIdentifier().String() != "10.77.0.1" || len(offer.Options.Get(dhcpv4.OptionVendorSpecificInformation)) == 0 {
		t.Errorf("proxy offer = %v", offer)
	}
	ack, err := c.Request(ctx, offer)
	if err != nil {
		t.Fatal(err)
	}
	if ack.MessageType() != dhcpv4.MessageTypeAck || ack.BootFileName != "ipxe.efi" || !ack.YourIPAddr.Equal(net.IPv4zero) {
		t.Errorf("proxy ack = %v", ack)
	}
	if got := srv.Stats().Replies; got != 2 {
		t.Errorf("replies = %d, want 2", got)
	}
	if ms, _ := store.List(ctx); len(ms) != 0 {
		t.Errorf("proxy DHCP wrote machines: %v", ms)
	}
}

func TestProxyDHCPPort4011(t *testing.T) {
	store := memstore.New()
	h := newHandler(t, store, dhcpd.Config{ServerIP: serverIP, Proxy: true})
	p, _ := dhcpv4.New(dhcpv4.WithHwAddr(testMAC), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithClientIP(net.IPv4(10, 77, 5, 5)))
	for _, m := range dhcptest.PXEFirmware(iana.EFI_ARM64) {
		m(p)
	}
	tests := []struct {
		port    uint16
		replies int
	}{{dhcpd.PXEPort, 1}, {dhcpd.ServerPort, 0}}
	for _, tt := range tests {
		req := dhcptest.NewRequest(p)
		req.Peer = netip.MustParseAddrPort("10.77.5.5:68")
		req.Local = netip.AddrPortFrom(serverIP, tt.port)
		w := &dhcptest.ResponseRecorder{}
		h.ServeDHCP(context.Background(), w, req)
		rs := w.Replies()
		if len(rs) != tt.replies {
			t.Fatalf("port %d: %d replies, want %d", tt.port, len(rs), tt.replies)
		}
		if tt.replies == 1 {
			if rs[0].BootFileName != "ipxe-arm64.efi" || rs[0].MessageType() != dhcpv4.MessageTypeAck {
				t.Errorf("port 4011 reply = %v", rs[0])
			}
			if d := dhcpd.Destination(req, rs[0]); d.String() != "10.77.5.5:68" {
				t.Errorf("port 4011 reply goes to %v", d)
			}
		}
	}
}

func TestBadInputThenService(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	srv := &dhcpd.Server{Handler: newHandler(t, store, testConfig("10.77.0.100", "10.77.0.200")), Workers: 1}
	c := client(t, serve(t, srv), testMAC)
	good, _ := c.New(dhcpv4.MessageTypeDiscover)
	b := good.ToBytes()
	bad := [][]byte{
		{}, {1}, b[:200], make([]byte, 4097),
		append([]byte{2}, b[1:]...),
		append(slices.Clone(b[:240]), 53, 1, 1, 55, 250, 1),
		append(slices.Clone(b[:240]), 53, 1, 200, 255),
	}
	for _, p := range bad {
		if err := c.SendBytes(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.DORA(ctx); err != nil {
		t.Fatal(err)
	}
	st := srv.Stats()
	if st.Malformed != uint64(len(bad)) || st.Panics != 0 {
		t.Errorf("stats = %+v, want %d malformed", st, len(bad))
	}
}

// TestStormLimit: a storm of new MACs on one interface creates Burst
// machines; each refused one is recorded, and a known machine is served
// through the storm.
func TestStormLimit(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	rec := &audittest.Recorder{}
	cfg := testConfig("10.77.0.100", "10.77.0.200")
	cfg.Limit = dhcpd.Limit{Burst: 5, Rate: 1e-6}
	cfg.Recorder = rec
	known := pxelator.Machine{MAC: testMAC, IP: netip.MustParseAddr("10.77.0.20")}
	if err := store.Put(ctx, known); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, store, cfg)
	const storm = 30
	for i := range storm {
		dora(t, h, macN(1000+i), nil)
	}
	limited, created := 0, 0
	if _, ok := rec.Wait(ctx, func(e audit.Event) bool {
		switch e.Action {
		case "limited":
			limited++
		case "new-machine":
			created++
		}
		return limited == storm-5 && created == 5
	}); !ok {
		t.Fatalf("storm: %d limited, %d new machines, want %d and 5", limited, created, storm-5)
	}
	if _, ack := dora(t, h, testMAC, nil); ack == nil || ack.YourIPAddr.String() != "10.77.0.20" {
		t.Fatalf("known machine during a storm: %v", ack)
	}
	if ms, _ := store.List(ctx); len(ms) != 1+5 {
		t.Errorf("storm created %d machines, want 5", len(ms)-1)
	}
	if st := h.Stats(); st.Limited != storm-5 || st.NewMachines != 5 {
		t.Errorf("handler stats %+v", st)
	}
}

// packetConn hides the *net.UDPConn behind the net.PacketConn interface:
// the server must work without control messages.
type packetConn struct{ net.PacketConn }

func TestServePlainPacketConn(t *testing.T) {
	ctx := testCtx(t)
	srv := &dhcpd.Server{Handler: newHandler(t, memstore.New(), testConfig("10.77.0.100", "10.77.0.200"))}
	addr := serveWrapped(t, srv, func(c net.PacketConn) net.PacketConn { return packetConn{c} })
	relayInfo := dhcpv4.OptRelayAgentInfo(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(1), []byte("port7")))
	_, ack, err := client(t, addr, testMAC, dhcpv4.WithOption(relayInfo)).DORA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ri := ack.RelayAgentInfo(); ri == nil || string(ri.Get(dhcpv4.GenericOptionCode(1))) != "port7" {
		t.Errorf("option 82 not echoed: %v", ack)
	}
}

// TestSlowHandlerDoesNotHoldUpOthers checks that with more than one
// worker a handler which waits does not hold up the requests behind it,
// whether the socket reads batches or one packet at a time.
func TestSlowHandlerDoesNotHoldUpOthers(t *testing.T) {
	for _, tt := range []struct {
		name string
		wrap func(net.PacketConn) net.PacketConn
	}{
		{"batches", func(c net.PacketConn) net.PacketConn { return c }},
		{"one at a time", func(c net.PacketConn) net.PacketConn { return packetConn{c} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			slow, other := macN(1), macN(2)
			entered, otherServed := make(chan struct{}), make(chan struct{})
			srv := &dhcpd.Server{Handler: dhcpd.HandlerFunc(func(ctx context.Context, w dhcpd.ResponseWriter, req *dhcpd.Request) {
				switch req.MAC().String() {
				case slow.String():
					close(entered)
					select { // waits until the other request is served
					case <-otherServed:
					case <-ctx.Done():
					}
				case other.String():
					close(otherServed)
				}
			}), Workers: 2}
			addr := serveWrapped(t, srv, tt.wrap)
			send := func(mac net.HardwareAddr) {
				c := client(t, addr, mac)
				p, err := c.New(dhcpv4.MessageTypeDiscover)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.SendBytes(p.ToBytes()); err != nil {
					t.Fatal(err)
				}
			}
			send(slow)
			<-entered
			send(other)
			select {
			case <-otherServed:
			case <-time.After(5 * time.Second):
				t.Fatal("a request waited for the slow handler before it")
			}
		})
	}
}

func TestShutdownCancelsStuckHandlers(t *testing.T) {
	ctx := testCtx(t)
	entered := make(chan struct{})
	canceled := make(chan struct{})
	srv := &dhcpd.Server{Handler: dhcpd.HandlerFunc(func(ctx context.Context, w dhcpd.ResponseWriter, req *dhcpd.Request) {
		close(entered)
		<-ctx.Done()
		close(canceled)
	}), Workers: 1}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(conn) }()
	c := client(t, conn.LocalAddr().String(), testMAC)
	p, _ := c.New(dhcpv4.MessageTypeDiscover)
	c.SendBytes(p.ToBytes())
	<-entered
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	<-canceled
	if err := <-done; !errors.Is(err, dhcpd.ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
	if err := srv.ServePacket(conn); !errors.Is(err, dhcpd.ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}

func TestInform(t *testing.T) {
	store := memstore.New()
	h := newHandler(t, store, testConfig("10.77.0.100", "10.77.0.200"))
	p, _ := dhcpv4.New(dhcpv4.WithHwAddr(testMAC), dhcpv4.WithMessageType(dhcpv4.MessageTypeInform),
		dhcpv4.WithClientIP(net.IPv4(10, 77, 9, 9)))
	req := dhcptest.NewRequest(p)
	req.Peer = netip.MustParseAddrPort("10.77.9.9:68")
	w := &dhcptest.ResponseRecorder{}
	h.ServeDHCP(context.Background(), w, req)
	rs := w.Replies()
	if len(rs) != 1 {
		t.Fatalf("%d replies to INFORM", len(rs))
	}
	r := rs[0]
	if r.MessageType() != dhcpv4.MessageTypeAck || !r.YourIPAddr.Equal(net.IPv4zero) ||
		r.Options.Has(dhcpv4.OptionIPAddressLeaseTime) || r.DomainName() != "lab.example" {
		t.Errorf("INFORM answer %v", r)
	}
	if d := dhcpd.Destination(req, r); d.String() != "10.77.9.9:68" {
		t.Errorf("INFORM answer goes to %v", d)
	}
	if ms, _ := store.List(context.Background()); len(ms) != 0 {
		t.Errorf("INFORM created machines: %v", ms)
	}
}

// gatedStore holds every Put until the gate is closed.
type gatedStore struct {
	pxelator.Store
	gate chan struct{}
}

func (s *gatedStore) Put(ctx context.Context, m pxelator.Machine) error {
	<-s.gate
	return s.Store.Put(ctx, m)
}

// TestOfferBeforeWriteAckAfter: the OFFER to a new machine writes
// nothing, the ACK waits for the write (RFC 2131 §4.3.1).
func TestOfferBeforeWriteAckAfter(t *testing.T) {
	ctx := testCtx(t)
	mem := memstore.New()
	store := &gatedStore{Store: mem, gate: make(chan struct{})}
	srv := &dhcpd.Server{Handler: newHandler(t, store, testConfig("10.77.0.100", "10.77.0.200"))}
	c := client(t, serve(t, srv), testMAC)
	offer, err := c.Discover(ctx) // would hang if the OFFER waited for Put
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.ByMAC(ctx, testMAC); err == nil {
		t.Fatal("machine written although every Put is held")
	}
	acked := make(chan *dhcpv4.DHCPv4, 1)
	go func() {
		ack, err := c.Request(ctx, offer)
		if err != nil {
			t.Error(err)
		}
		acked <- ack
	}()
	close(store.gate)
	ack := <-acked
	if ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("REQUEST answered %v", ack)
	}
	if m, err := mem.ByMAC(ctx, testMAC); err != nil || !ack.YourIPAddr.Equal(m.IP.AsSlice()) {
		t.Errorf("ACK for %v before the machine was stored: %v, %v", ack.YourIPAddr, m, err)
	}
}

func TestNewStoreHandlerErrors(t *testing.T) {
	ok := testConfig("10.77.0.100", "10.77.0.200")
	tests := []struct {
		name string
		edit func(c *dhcpd.Config)
	}{
		{"no server IP", func(c *dhcpd.Config) { c.ServerIP = netip.Addr{} }},
		{"IPv6 server", func(c *dhcpd.Config) { c.ServerIP = netip.MustParseAddr("fe80::1") }},
		{"no range", func(c *dhcpd.Config) { c.First, c.Last = netip.Addr{}, netip.Addr{} }},
		{"range backwards", func(c *dhcpd.Config) { c.First, c.Last = c.Last, c.First }},
		{"range outside subnet", func(c *dhcpd.Config) { c.Last = netip.MustParseAddr("10.78.0.1") }},
		{"IPv6 subnet", func(c *dhcpd.Config) { c.Subnet = netip.MustParsePrefix("fe80::/64") }},
	}
	for _, tt := range tests {
		cfg := ok
		tt.edit(&cfg)
		if _, err := dhcpd.NewStoreHandler(memstore.New(), cfg); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if _, err := dhcpd.NewStoreHandler(nil, ok); err == nil {
		t.Error("nil store: no error")
	}
	proxy := dhcpd.Config{ServerIP: serverIP, Proxy: true}
	if _, err := dhcpd.NewStoreHandler(memstore.New(), proxy); err != nil {
		t.Errorf("proxy without a range: %v", err)
	}
}

func TestRelease(t *testing.T) {
	ctx := testCtx(t)
	store := memstore.New()
	rec := &audittest.Recorder{}
	cfg := testConfig("10.77.0.100", "10.77.0.200")
	cfg.Recorder = rec
	srv := &dhcpd.Server{Handler: newHandler(t, store, cfg)}
	c := client(t, serve(t, srv), testMAC)
	_, ack, err := c.DORA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := dhcpv4.NewReleaseFromACK(ack)
	c.SendBytes(rel.ToBytes())
	e, ok := rec.Wait(ctx, func(e audit.Event) bool { return e.Action == "released" })
	if !ok || e.IP.String() != "10.77.0.100" {
		t.Fatalf("release event %+v", e)
	}
	if m, err := store.ByMAC(ctx, testMAC); err != nil || m.IP.String() != "10.77.0.100" {
		t.Errorf("machine after release: %v, %v", m, err)
	}
}

func TestListenAndServe(t *testing.T) {
	srv := &dhcpd.Server{Addr: "127.0.0.1:0", Handler: dhcpd.HandlerFunc(func(context.Context, dhcpd.ResponseWriter, *dhcpd.Request) {})}
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe() }()
	ctx := testCtx(t)
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, dhcpd.ErrServerClosed) {
		t.Errorf("ListenAndServe = %v", err)
	}
	bad := &dhcpd.Server{Addr: "127.0.0.1:notaport"}
	if err := bad.ListenAndServe(); err == nil || errors.Is(err, dhcpd.ErrServerClosed) {
		t.Errorf("ListenAndServe on a bad address = %v", err)
	}
}
