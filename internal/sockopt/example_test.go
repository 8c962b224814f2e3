package sockopt_test

import (
	"fmt"
	"net"

	"github.com/pxelator/pxelator/internal/sockopt"
)

// A server socket asks for 4 MiB, to ride out a boot storm's bursts.
func ExampleSetReadBuffer() {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println(sockopt.SetReadBuffer(conn, 4<<20))
	// Output: <nil>
}
