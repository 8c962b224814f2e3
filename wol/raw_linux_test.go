package wol_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/mdlayher/packet"
	"github.com/pxelator/pxelator/wol"
	"golang.org/x/sys/unix"
)

// netns is a network namespace created for one test.
type netns struct {
	name string
}

// newNetns creates a namespace holding the veth pair wolA <-> wolB, both
// up, with wolB carrying the MAC address of the machine to wake. It is
// deleted when the test ends, also on failure.
func newNetns(t *testing.T, peerMAC net.HardwareAddr) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("raw Ethernet test needs root to create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("raw Ethernet test needs ip(8) from iproute2")
	}
	ns := &netns{name: fmt.Sprintf("pxwol%d", os.Getpid())}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	run("netns", "add", ns.name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.name).Run() })
	run("-n", ns.name, "link", "add", "wolA", "type", "veth", "peer", "name", "wolB")
	run("-n", ns.name, "link", "set", "wolB", "address", peerMAC.String())
	run("-n", ns.name, "link", "set", "wolA", "up")
	run("-n", ns.name, "link", "set", "wolB", "up")
	return ns
}

// do runs f on an OS thread that has joined the namespace. The thread is
// never unlocked, so the Go runtime discards it when f returns and no
// other goroutine ever runs in the namespace by accident. Sockets opened
// by f stay in the namespace after it returns.
func (ns *netns) do(t *testing.T, f func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/var/run/netns/"+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- f()
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
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
			ns.do(t, func() error {
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
