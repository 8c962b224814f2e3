package dnsd_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/netip"

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

// A command runs for the machine named in the query; here it sets the
// machine's boot profile, so that "ping install.kiosk-01.do.pxe" on any
// machine asks for kiosk-01 to be installed at its next boot.
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
	h.HandleCommand("install", func(ctx context.Context, m pxelator.Machine) error {
		m.Profile = "install"
		return store.Put(ctx, m)
	})
	srv := dnstest.NewServer(h)
	defer srv.Close()

	r, err := srv.Exchange(ctx, "udp", new(dns.Msg).SetQuestion("install.kiosk-01.do.pxe.", dns.TypeA))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Answer[0])
	m, _ := store.ByHostname(ctx, "kiosk-01")
	fmt.Println("profile:", m.Profile)
	// Output:
	// install.kiosk-01.do.pxe.	0	IN	A	10.0.0.11
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
