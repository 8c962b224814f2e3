package dnsd_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/internal/netnstest"
	"github.com/pxelator/pxelator/memstore"
)

// newNetns creates a network namespace with lo up whose resolv.conf
// (through ip netns exec) names 127.0.0.1, or skips the test.
func newNetns(t *testing.T) *netnstest.Namespace {
	t.Helper()
	ns := netnstest.New(t, "dnsd-")
	ns.WriteEtc(t, "resolv.conf", "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n")
	return ns
}

// listenInNetns opens the DNS sockets on 127.0.0.1:53 inside the
// namespace.
func listenInNetns(t *testing.T, ns *netnstest.Namespace) (pc net.PacketConn, l net.Listener) {
	t.Helper()
	ns.Do(t, func() (err error) {
		if pc, err = net.ListenPacket("udp", "127.0.0.1:53"); err != nil {
			return err
		}
		if l, err = net.Listen("tcp", "127.0.0.1:53"); err != nil {
			pc.Close()
		}
		return err
	})
	return pc, l
}

// TestInteropGetaddrinfo resolves names through the C library's resolver
// (getent, which uses getaddrinfo like ping does) in a namespace whose
// name server is the Handler: a machine with nothing but ping runs a
// command, once, though the resolver asks for A and AAAA.
func TestInteropGetaddrinfo(t *testing.T) {
	getent := lookTool(t, "getent", "libc-bin")
	ns := newNetns(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	store := memstore.New()
	putMachine(t, store, "52:54:00:00:00:0b", "10.0.0.11", "kiosk-01")
	putMachine(t, store, "52:54:00:00:00:0e", "127.0.0.5", "pinger")
	rec := &audittest.Recorder{}
	h, err := dnsd.NewStoreHandler(dnsd.Config{
		Zone:           "pxe",
		Store:          store,
		Networks:       []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")},
		CommandClients: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		CommandWindow:  time.Hour,
		Recorder:       rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	wake := &counter{}
	h.HandleCommand("wake", wake.run)
	pc, l := listenInNetns(t, ns)
	srv := &dnsd.Server{Handler: h}
	served := make(chan error, 2)
	go func() { served <- srv.ServePacket(pc) }()
	go func() { served <- srv.Serve(l) }()
	defer func() {
		if err := srv.Shutdown(ctx); err != nil {
			t.Error(err)
		}
		for range 2 {
			if err := <-served; !errors.Is(err, dnsd.ErrServerClosed) {
				t.Error(err)
			}
		}
	}()

	tests := []struct {
		args []string
		want string // first field of the first line
	}{
		{[]string{"ahosts", "kiosk-01.pxe"}, "10.0.0.11"},
		{[]string{"hosts", "10.0.0.11"}, "10.0.0.11"}, // PTR: "10.0.0.11 kiosk-01.pxe"
		{[]string{"ahosts", "wake.pinger.do.pxe"}, "127.0.0.5"},
		{[]string{"ahosts", "wake.pinger.do.pxe"}, "127.0.0.5"},
	}
	for _, tt := range tests {
		out, err := ns.Command(ctx, getent, tt.args...).CombinedOutput()
		if err != nil {
			t.Fatalf("getent %s: %v: %s", strings.Join(tt.args, " "), err, out)
		}
		if f := strings.Fields(string(out)); len(f) < 2 || f[0] != tt.want {
			t.Errorf("getent %s: %q, want %s", strings.Join(tt.args, " "), out, tt.want)
		}
		if tt.args[0] == "hosts" && !strings.Contains(string(out), "kiosk-01.pxe") {
			t.Errorf("getent hosts 10.0.0.11: %q, want kiosk-01.pxe", out)
		}
	}
	if out, err := ns.Command(ctx, getent, "ahosts", "missing.pxe").CombinedOutput(); err == nil {
		t.Errorf("getent ahosts missing.pxe: %s, want failure", out)
	}
	if n := wake.n.Load(); n != 1 {
		t.Errorf("command ran %d times for two lookups of one name, want 1", n)
	}
	if evs := rec.Find("dnsd", "command"); len(evs) != 1 || evs[0].Hostname != "pinger" {
		t.Errorf("command events: %+v", evs)
	}
}
