package dhcptest_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/dhcpd/dhcptest"
	"github.com/pxelator/pxelator/memstore"
)

// A test of a DHCP server: the client plays the iPXE ROM of QEMU through
// a full exchange.
func ExampleClient_DORA() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := dhcpd.NewStoreHandler(memstore.New(), dhcpd.Config{
		ServerIP: netip.MustParseAddr("192.0.2.1"),
		First:    netip.MustParseAddr("192.0.2.10"),
		Last:     netip.MustParseAddr("192.0.2.20"),
		Relays:   []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, // the client relays its own requests
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

	mac, _ := net.ParseMAC("52:54:00:00:00:01")
	c, err := dhcptest.NewClient(conn.LocalAddr().String(), mac, dhcptest.IPXEBIOS()...)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	offer, ack, err := c.DORA(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(offer.MessageType(), offer.YourIPAddr)
	fmt.Println(ack.MessageType(), ack.BootFileName, ack.ClassIdentifier())
	// Output:
	// OFFER 192.0.2.10
	// ACK http://192.0.2.1/boot.ipxe PXEClient
}
