package dnstest_test

import (
	"context"
	"fmt"
	"net"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator/dnsd/dnstest"
)

// A Server answers over UDP and TCP on one loopback port.
func ExampleNewServer() {
	srv := dnstest.NewServer(dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg).SetReply(req)
		m.Answer = append(m.Answer, &dns.A{
			Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A:   net.IPv4(192, 0, 2, 1),
		})
		w.WriteMsg(m)
	}))
	defer srv.Close()
	for _, network := range []string{"udp", "tcp"} {
		r, err := srv.Exchange(context.Background(), network, new(dns.Msg).SetQuestion("example.org.", dns.TypeA))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(network, r.Answer[0])
	}
	// Output:
	// udp example.org.	60	IN	A	192.0.2.1
	// tcp example.org.	60	IN	A	192.0.2.1
}
