package dhcpd_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/dhcpd/dhcptest"
	"github.com/pxelator/pxelator/memstore"
)

// A PXElator DHCP server on a loopback port, and the iPXE ROM of a new
// machine asking it for an address: the machine is written to the store
// and breaks out of the iPXE loop with the boot script.
func ExampleStoreHandler() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := memstore.New()
	h, err := dhcpd.NewStoreHandler(store, dhcpd.Config{
		ServerIP: netip.MustParseAddr("10.77.0.1"),
		First:    netip.MustParseAddr("10.77.0.100"),
		Last:     netip.MustParseAddr("10.77.0.199"),
		// The test client is its own relay agent on loopback: relayed
		// requests are answered only from the relays listed.
		Relays: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
	if err != nil {
		log.Fatal(err)
	}
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		log.Fatal(err)
	}
	srv := &dhcpd.Server{Handler: h}
	go srv.ServePacket(conn)
	defer srv.Shutdown(ctx)

	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	c, err := dhcptest.NewClient(conn.LocalAddr().String(), mac, dhcptest.IPXEBIOS()...)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	_, ack, err := c.DORA(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ack.YourIPAddr, ack.BootFileName)
	m, _ := store.ByMAC(ctx, mac)
	fmt.Println(m.Server, m.IP)
	// Output:
	// 10.77.0.100 http://10.77.0.1/boot.ipxe
	// 10.77.0.1 10.77.0.100
}

// A boot table that chains BIOS machines to iPXE over TFTP and gives one
// profile its own UEFI loader.
func ExampleBootTable_Lookup() {
	table := &dhcpd.BootTable{
		Files: map[iana.Arch]string{
			iana.INTEL_X86PC: "undionly.kpxe",
			iana.EFI_X86_64:  "snponly.efi",
		},
		Profiles:   map[string]map[iana.Arch]string{"grub": {iana.EFI_X86_64: "grubx64.efi"}},
		IPXEScript: "http://{server}/boot/{mac}.ipxe",
	}
	server := netip.MustParseAddr("10.77.0.1")
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	m := pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.77.0.100")}
	bios := dhcpd.PXE{Class: dhcpd.ClassPXE, Arch: iana.INTEL_X86PC, HasArch: true}
	ipxe := bios
	ipxe.IPXE = true
	uefi := dhcpd.PXE{Class: dhcpd.ClassPXE, Arch: iana.EFI_X86_64, HasArch: true}
	fmt.Println(table.Lookup(bios, m, server))
	fmt.Println(table.Lookup(ipxe, m, server))
	fmt.Println(table.Lookup(uefi, m, server))
	m.Profile = "grub"
	fmt.Println(table.Lookup(uefi, m, server))
	// Output:
	// undionly.kpxe
	// http://10.77.0.1/boot/52:54:00:12:34:56.ipxe
	// snponly.efi
	// grubx64.efi
}

// Middleware is plain wrapping: this one keeps one MAC away from the
// server.
func ExampleHandlerFunc() {
	blocked, _ := net.ParseMAC("52:54:00:66:66:66")
	inner := dhcpd.HandlerFunc(func(ctx context.Context, w dhcpd.ResponseWriter, req *dhcpd.Request) {
		reply, _ := dhcpv4.NewReplyFromRequest(req.Packet, dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer))
		w.Write(ctx, reply)
	})
	guard := dhcpd.HandlerFunc(func(ctx context.Context, w dhcpd.ResponseWriter, req *dhcpd.Request) {
		if req.MAC().String() == blocked.String() {
			return
		}
		inner.ServeDHCP(ctx, w, req)
	})
	for _, mac := range []string{"52:54:00:66:66:66", "52:54:00:12:34:56"} {
		hw, _ := net.ParseMAC(mac)
		p, _ := dhcpv4.NewDiscovery(hw)
		w := &dhcptest.ResponseRecorder{}
		guard.ServeDHCP(context.Background(), w, dhcptest.NewRequest(p))
		fmt.Println(mac, len(w.Replies()))
	}
	// Output:
	// 52:54:00:66:66:66 0
	// 52:54:00:12:34:56 1
}

// A Server on one interface: ListenPacket opens its socket ahead of
// ServePacket (bound to the interface, broadcasts allowed), so that a
// program can open it where it must, in another network namespace say.
func ExampleServer_ListenPacket() {
	srv := &dhcpd.Server{
		Addr:      ":67",
		Interface: "eth1",
		Handler: dhcpd.HandlerFunc(func(ctx context.Context, w dhcpd.ResponseWriter, req *dhcpd.Request) {
			log.Printf("%v from %v on %s", req.Type(), req.MAC(), req.IfName)
		}),
	}
	conn, err := srv.ListenPacket()
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		if err := srv.ServePacket(conn); !errors.Is(err, dhcpd.ErrServerClosed) {
			log.Fatal(err)
		}
	}()
	// ... later:
	srv.Shutdown(context.Background())
}
