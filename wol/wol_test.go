package wol_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/wol"
)

// vector returns the magic packet for 00:11:22:33:44:55 from testdata.
func vector(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/magic-00-11-22-33-44-55.hex")
	if err != nil {
		t.Fatal(err)
	}
	p, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 102 {
		t.Fatalf("vector is %d bytes, want 102", len(p))
	}
	return p
}

var target = net.HardwareAddr{0x00, 0x11, 0x22, 0x33, 0x44, 0x55}

func TestWakeUDPByteExact(t *testing.T) {
	want := vector(t)
	tests := []struct {
		name     string
		password []byte
	}{
		{"no password", nil},
		{"4-byte SecureOn", []byte{192, 168, 1, 1}},
		{"6-byte SecureOn", []byte{1, 2, 3, 4, 5, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			port := pc.LocalAddr().(*net.UDPAddr).Port
			rec := &audittest.Recorder{}
			c := &wol.Client{MAC: target, Broadcast: netip.MustParseAddr("127.0.0.1"), Port: port, Password: tt.password, Recorder: rec}
			if err := c.On(context.Background()); err != nil {
				t.Fatalf("On: %v", err)
			}
			buf := make([]byte, 1500)
			pc.SetReadDeadline(time.Now().Add(30 * time.Second))
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			if exp := append(bytes.Clone(want), tt.password...); !bytes.Equal(buf[:n], exp) {
				t.Errorf("packet:\n got %x\nwant %x", buf[:n], exp)
			}
			evs := rec.Find("wol", "wake")
			if len(evs) != 1 || evs[0].MAC.String() != target.String() {
				t.Fatalf("audit events = %+v, want one wake for %v", evs, target)
			}
			for k, v := range evs[0].Fields {
				if s, ok := v.(string); ok && len(tt.password) > 0 && strings.Contains(s, string(tt.password)) {
					t.Errorf("audit field %s leaks the password", k)
				}
			}
		})
	}
}

func TestAddr(t *testing.T) {
	tests := []struct {
		c    wol.Client
		want string
	}{
		{wol.Client{}, "255.255.255.255:9"},
		{wol.Client{Port: wol.PortEcho}, "255.255.255.255:7"},
		{wol.Client{Broadcast: netip.MustParseAddr("10.1.2.255")}, "10.1.2.255:9"},
	}
	for _, tt := range tests {
		if got := tt.c.Addr().String(); got != tt.want {
			t.Errorf("Addr() = %s, want %s", got, tt.want)
		}
	}
}

func TestBroadcastAddr(t *testing.T) {
	tests := []struct{ prefix, want string }{
		{"192.168.1.0/24", "192.168.1.255"},
		{"192.168.1.77/24", "192.168.1.255"},
		{"10.77.0.1/16", "10.77.255.255"},
		{"172.16.5.4/20", "172.16.15.255"},
		{"10.0.0.1/32", "10.0.0.1"},
		{"0.0.0.0/0", "255.255.255.255"},
		{"10.0.0.0/31", "10.0.0.1"},
	}
	for _, tt := range tests {
		if got := wol.BroadcastAddr(netip.MustParsePrefix(tt.prefix)); got.String() != tt.want {
			t.Errorf("BroadcastAddr(%s) = %v, want %s", tt.prefix, got, tt.want)
		}
	}
	if got := wol.BroadcastAddr(netip.MustParsePrefix("2001:db8::/64")); got.IsValid() {
		t.Errorf("BroadcastAddr(IPv6) = %v, want the zero Addr", got)
	}
}

func TestParsePassword(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
		ok   bool
	}{
		{"", nil, true},
		{"01:02:03:04:05:06", []byte{1, 2, 3, 4, 5, 6}, true},
		{"a1-b2-c3-d4-e5-f6", []byte{0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6}, true},
		{"192.168.1.1", []byte{192, 168, 1, 1}, true},
		{"hunter2", nil, false},
		{"01:02:03:04:05:06:07:08", nil, false},
		{"::1", nil, false},
	}
	for _, tt := range tests {
		got, err := wol.ParsePassword(tt.in)
		if (err == nil) != tt.ok || !bytes.Equal(got, tt.want) {
			t.Errorf("ParsePassword(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && tt.in != "" && strings.Contains(err.Error(), tt.in) {
			t.Errorf("ParsePassword(%q) error %q repeats the password", tt.in, err)
		}
	}
}

func TestUnsupported(t *testing.T) {
	c := &wol.Client{MAC: target}
	ctx := context.Background()
	for name, op := range map[string]func(context.Context) error{
		"Off": c.Off, "SoftOff": c.SoftOff, "Cycle": c.Cycle, "Reset": c.Reset,
	} {
		err := op(ctx)
		if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, wol.ErrUnsupported) {
			t.Errorf("%s() = %v, want ErrUnsupported", name, err)
		}
		if err != nil && !strings.Contains(err.Error(), "wake-on-LAN can only switch a machine on") {
			t.Errorf("%s() = %q, want it to say that Wake-on-LAN cannot do it", name, err)
		}
	}
	st, err := c.PowerState(ctx)
	if st != pxelator.PowerUnknown || !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, wol.ErrUnsupported) {
		t.Errorf("PowerState() = %v, %v; want unknown, ErrUnsupported", st, err)
	}
}

func TestWakeBadInput(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		c    wol.Client
		want string
	}{
		{"no MAC", context.Background(), wol.Client{}, "not a 6-byte MAC"},
		{"EUI-64", context.Background(), wol.Client{MAC: net.HardwareAddr{1, 2, 3, 4, 5, 6, 7, 8}}, "not a 6-byte MAC"},
		{"password length", context.Background(), wol.Client{MAC: target, Password: []byte("abc")}, "want 4 or 6"},
		{"port", context.Background(), wol.Client{MAC: target, Port: 70000}, "out of range"},
		{"no such interface", context.Background(), wol.Client{MAC: target, Interface: "nonexistent0"}, "nonexistent0"},
		{"canceled", canceled, wol.Client{MAC: target}, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.c.Wake(tt.ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "wol: ") {
				t.Errorf("Wake() = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

func BenchmarkWakeUDP(b *testing.B) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	c := &wol.Client{MAC: target, Broadcast: netip.MustParseAddr("127.0.0.1"), Port: pc.LocalAddr().(*net.UDPAddr).Port}
	ctx := context.Background()
	for b.Loop() {
		if err := c.Wake(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
