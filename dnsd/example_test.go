package dnsd_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/dnsd/dnstest"
	"github.com/pxelator/pxelator/memstore"
)

// A StoreHandler answers names from the store it is given.
func ExampleNewStoreHandler() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memstore.New()
	mac, _ := net.ParseMAC("52:54:00:00:00:0b")
	store.Put(ctx, pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.11"), Hostname: "kiosk-01"})

	h, err := dnsd.NewStoreHandler(dnsd.Config{
		Zone:     "pxe",
		Store:    store,
		Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	srv := dnstest.NewServer(h)
	defer srv.Close()

	for _, q := range []dns.Question{
		{Name: "kiosk-01.pxe.", Qtype: dns.TypeA},
		{Name: "11.0.0.10.in-addr.arpa.", Qtype: dns.TypePTR},
		{Name: "kiosk-02.pxe.", Qtype: dns.TypeA},
	} {
		r, err := srv.Exchange(ctx, "udp", new(dns.Msg).SetQuestion(q.Name, q.Qtype))
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, rr := range r.Answer {
			fmt.Println(rr)
		}
		if len(r.Answer) == 0 {
			fmt.Println(q.Name, dns.RcodeToString[r.Rcode])
		}
	}
	// Output:
	// kiosk-01.pxe.	5	IN	A	10.0.0.11
	// 11.0.0.10.in-addr.arpa.	5	IN	PTR	kiosk-01.pxe.
	// kiosk-02.pxe. NXDOMAIN
}

// A command runs for the machine named in the query; here it wakes the
// machine, which any host of the allowed networks may ask for by name:
// "ping wake.kiosk-01.do.pxe". Over UDP the answer has the TC bit, so
// the client's resolver asks again over TCP, which proves its address.
func ExampleStoreHandler_HandleCommand() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memstore.New()
	mac, _ := net.ParseMAC("52:54:00:00:00:0b")
	store.Put(ctx, pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.11"), Hostname: "kiosk-01"})
	h, _ := dnsd.NewStoreHandler(dnsd.Config{
		Zone:           "pxe",
		Store:          store,
		CommandClients: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	defer h.Close()
	h.HandleCommand("wake", func(ctx context.Context, m pxelator.Machine) error {
		fmt.Println("waking", m.Hostname)
		return nil
	})
	srv := dnstest.NewServer(h)
	defer srv.Close()

	q := new(dns.Msg).SetQuestion("wake.kiosk-01.do.pxe.", dns.TypeA)
	r, err := srv.Exchange(ctx, "udp", q)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("over UDP: truncated", r.Truncated)
	if r, err = srv.Exchange(ctx, "tcp", q); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Answer[0])
	// Output:
	// over UDP: truncated true
	// waking kiosk-01
	// wake.kiosk-01.do.pxe.	0	IN	A	10.0.0.11
}

// A destructive command, here one that sets the boot profile of a
// machine to an installer, runs only from a name that carries a token
// made with the server's key: the name is what an administrator pings,
// or what a web page shows, and it runs once while it is valid.
func ExampleTokens_Name() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memstore.New()
	mac, _ := net.ParseMAC("52:54:00:00:00:0b")
	store.Put(ctx, pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.11"), Hostname: "kiosk-01"})
	tokens, err := dnsd.NewTokens([]byte("a key of 16 bytes or more, random in real life"), 0)
	if err != nil {
		log.Fatal(err)
	}
	h, _ := dnsd.NewStoreHandler(dnsd.Config{Zone: "pxe", Store: store, CommandTokens: tokens})
	defer h.Close()
	h.Handle("boot.install", dnsd.Command{Destructive: true, Run: func(ctx context.Context, m pxelator.Machine) error {
		m.Profile = "install"
		return store.Put(ctx, m)
	}})
	srv := dnstest.NewServer(h)
	defer srv.Close()

	for _, name := range []string{"boot.install.kiosk-01.do.pxe.", tokens.Name("boot.install", "kiosk-01", "do.pxe", time.Now())} {
		r, err := srv.Exchange(ctx, "udp", new(dns.Msg).SetQuestion(name, dns.TypeA))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	m, _ := store.ByHostname(ctx, "kiosk-01")
	fmt.Println("profile:", m.Profile)
	// Output:
	// REFUSED 0
	// NOERROR 1
	// profile: install
}

// A Server answers over UDP (ServePacket) and TCP (Serve) on sockets
// opened ahead with package net, until Shutdown.
func ExampleServer() {
	h := dnsd.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		w.WriteMsg(new(dns.Msg).SetRcode(req, dns.RcodeRefused))
	})
	pc, err := net.ListenPacket("udp", ":53")
	if err != nil {
		log.Fatal(err)
	}
	l, err := net.Listen("tcp", ":53")
	if err != nil {
		log.Fatal(err)
	}
	srv := &dnsd.Server{Handler: h}
	go srv.ServePacket(pc)
	go srv.Serve(l)
	// ... later:
	srv.Shutdown(context.Background())
}
