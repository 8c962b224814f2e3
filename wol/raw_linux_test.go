package wol_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"github.com/pxelator/pxelator/internal/netnstest"
	"github.com/pxelator/pxelator/wol"
)

// newNetns creates a namespace holding the veth pair wolA <-> wolB, both
// up, with wolB carrying the MAC address of the machine to wake. It is
// deleted when the test ends, also on failure.
func newNetns(t *testing.T, peerMAC net.HardwareAddr) *netnstest.Namespace {
	t.Helper()
	ns := netnstest.New(t, "pxwol")
	netnstest.Veth(t, ns, "wolA", ns, "wolB")
	ns.IP(t, "link", "set", "wolB", "address", peerMAC.String())
	return ns
}

func TestWakeRawByteExact(t *testing.T) {
	want := vector(t)
	ns := newNetns(t, target)
	tests := []struct {
		name     string
		password []byte
	}{
		{"no password", nil},
		{"6-byte SecureOn", []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				listener *packet.Conn
				srcMAC   net.HardwareAddr
			)
			ns.Do(t, func() error {
				a, err := net.InterfaceByName("wolA")
				if err != nil {
					return err
				}
				srcMAC = a.HardwareAddr
				b, err := net.InterfaceByName("wolB")
				if err != nil {
					return err
				}
				listener, err = packet.Listen(b, packet.Raw, wol.EtherType, nil)
				if err != nil {
					return err
				}
				// Sent from inside the namespace: the interface name is
				// resolved and the socket opened on this thread.
				c := &wol.Client{MAC: target, Interface: "wolA", Password: tt.password}
				return c.Wake(context.Background())
			})
			defer listener.Close()

			buf := make([]byte, 1600)
			listener.SetReadDeadline(time.Now().Add(30 * time.Second))
			for {
				n, _, err := listener.ReadFrom(buf)
				if err != nil {
					t.Fatalf("no magic packet on wolB: %v", err)
				}
				frame := buf[:n]
				if len(frame) < 14 || frame[12] != 0x08 || frame[13] != 0x42 {
					continue // not ours (the filter is the ethertype; be strict anyway)
				}
				if !bytes.Equal(frame[0:6], target) {
					t.Errorf("destination %x, want %v", frame[0:6], target)
				}
				if !bytes.Equal(frame[6:12], srcMAC) {
					t.Errorf("source %x, want wolA's %v", frame[6:12], srcMAC)
				}
				exp := append(bytes.Clone(want), tt.password...)
				if !bytes.Equal(frame[14:], exp) {
					t.Errorf("payload:\n got %x\nwant %x", frame[14:], exp)
				}
				return
			}
		})
	}
}
