package wol_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator/wol"
)

// Wake a machine by a UDP datagram. Here the "broadcast" is a listener on
// loopback so that the example can show what was sent; on a real network
// use the subnet-directed broadcast of the machine's segment.
func ExampleClient_Wake() {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer pc.Close()

	c := &wol.Client{
		MAC:       net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
		Broadcast: netip.MustParseAddr("127.0.0.1"),
		Port:      pc.LocalAddr().(*net.UDPAddr).Port,
	}
	if err := c.Wake(context.Background()); err != nil {
		log.Fatal(err)
	}

	buf := make([]byte, 1500)
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d bytes: % x ...\n", n, buf[:12])
	// Output: 102 bytes: ff ff ff ff ff ff 52 54 00 12 34 56 ...
}

// Compute the subnet-directed broadcast address to send to.
func ExampleBroadcastAddr() {
	fmt.Println(wol.BroadcastAddr(netip.MustParsePrefix("192.168.10.42/24")))
	// Output: 192.168.10.255
}
