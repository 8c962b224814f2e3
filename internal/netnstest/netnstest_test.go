package netnstest_test

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/internal/netnstest"
)

// TestNamespaces joins two namespaces with a veth pair, sends a datagram
// across from sockets opened inside them, and checks that both are gone
// once the subtest that made them has ended.
func TestNamespaces(t *testing.T) {
	var names []string
	t.Run("make", func(t *testing.T) {
		a, b := netnstest.New(t, "nnt-a"), netnstest.New(t, "nnt-b")
		names = append(names, a.Name, b.Name)
		netnstest.Veth(t, a, "nnt0", b, "nnt1")
		a.IP(t, "addr", "add", "10.79.0.1/24", "dev", "nnt0")
		b.IP(t, "addr", "add", "10.79.0.2/24", "dev", "nnt1")
		b.BridgeTap(t, "nntbr", netip.MustParsePrefix("10.79.1.1/24"), "nnttap")
		b.WriteEtc(t, "hosts", "10.79.0.1 peer-a\n")

		var recv *net.UDPConn
		b.Do(t, func() (err error) {
			recv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(10, 79, 0, 2), Port: 7979})
			return err
		})
		defer recv.Close()
		a.Do(t, func() error {
			c, err := net.Dial("udp4", "10.79.0.2:7979")
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte("across"))
			return err
		})
		recv.SetReadDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 16)
		n, from, err := recv.ReadFromUDP(buf)
		if err != nil || string(buf[:n]) != "across" || from.IP.String() != "10.79.0.1" {
			t.Errorf("read %q from %v: %v; want \"across\" from 10.79.0.1", buf[:n], from, err)
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := b.Command(ctx, "getent", "hosts", "peer-a").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "10.79.0.1") {
			t.Errorf("getent hosts peer-a in the namespace: %q %v, want 10.79.0.1 from its /etc/hosts", out, err)
		}
		out, err = b.Command(ctx, "ip", "-o", "link", "show", "master", "nntbr").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "nnttap") {
			t.Errorf("bridge ports: %q %v, want nnttap", out, err)
		}
	})
	if len(names) == 0 {
		return // skipped
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.Contains(string(out), n) {
			t.Errorf("namespace %s is still there after its test", n)
		}
	}
}
