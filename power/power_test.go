package power_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/drac/dractest"
	"github.com/pxelator/pxelator/power"
	"github.com/pxelator/pxelator/power/powertest"
	"github.com/pxelator/pxelator/wol"
)

var kioskMAC = net.HardwareAddr{0x52, 0x54, 0, 0, 0x0a, 1}

// kiosk returns a machine with the attributes kv; keys ending in
// "password" or "secureon" are set as secrets.
func kiosk(kv ...string) pxelator.Machine {
	m := pxelator.Machine{MAC: kioskMAC, IP: netip.MustParseAddr("10.0.0.11"), Hostname: "kiosk-01"}
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.HasSuffix(kv[i], "password") || strings.HasSuffix(kv[i], "secureon") {
			m.SetSecret(kv[i], kv[i+1])
		} else {
			m.Set(kv[i], kv[i+1])
		}
	}
	return m
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var quiet = slog.New(slog.DiscardHandler)

func TestBackendOf(t *testing.T) {
	for _, tc := range []struct {
		m    pxelator.Machine
		want power.Backend
		read bool
	}{
		{kiosk(amt.AttrAddress, "10.0.0.21"), power.AMT, true},
		{kiosk(drac.AttrAddress, "10.0.0.22"), power.DRAC, true},
		{kiosk(amt.AttrAddress, "10.0.0.21", drac.AttrAddress, "10.0.0.22"), power.AMT, true},
		{kiosk(), power.WoL, false},
		{kiosk(amt.AttrUsername, "admin"), power.WoL, false}, // credentials without an address
	} {
		if got := power.BackendOf(tc.m); got != tc.want || got.CanRead() != tc.read {
			t.Errorf("BackendOf(%v) = %v (can read %v), want %v", tc.m, got, got.CanRead(), tc.want)
		}
	}
}

func TestAMT(t *testing.T) {
	ctx := ctxT(t)
	srv := amttest.NewServer(amttest.Options{State: pxelator.PowerOff, Username: "operator", Password: "Tr0ub4dor&3"})
	defer srv.Close()
	rec := &audittest.Recorder{}
	for _, tc := range []struct {
		name string
		m    pxelator.Machine
		cfg  power.Config
	}{
		{"credentials from the attributes", kiosk(amt.AttrAddress, srv.URL, amt.AttrUsername, "operator", amt.AttrPassword, "Tr0ub4dor&3"), power.Config{}},
		{"credentials from the config", kiosk(amt.AttrAddress, srv.URL), power.Config{AMT: amt.Config{Username: "operator", Password: "Tr0ub4dor&3"}}},
		{"attributes win", kiosk(amt.AttrAddress, srv.URL, amt.AttrPassword, "Tr0ub4dor&3"), power.Config{AMT: amt.Config{Username: "operator", Password: "wrong"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Recorder, tc.cfg.Logger = rec, quiet
			srv.SetState(pxelator.PowerOff)
			c, err := power.For(tc.m, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(ctx)
			if st, err := c.PowerState(ctx); err != nil || st != pxelator.PowerOff {
				t.Fatalf("PowerState = %v, %v", st, err)
			}
			if err := power.On.Do(ctx, c); err != nil || srv.State() != pxelator.PowerOn {
				t.Fatalf("On: %v, emulator %v", err, srv.State())
			}
		})
	}
	evs := rec.Find("amt", "power_on")
	if len(evs) != 3 || evs[0].MAC.String() != kioskMAC.String() {
		t.Errorf("amt power_on events: %+v", evs)
	}
	// A wrong password fails, and the error does not show it.
	c, err := power.For(kiosk(amt.AttrAddress, srv.URL, amt.AttrUsername, "operator", amt.AttrPassword, "hunter2"), power.Config{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PowerState(ctx); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("wrong password: %v", err)
	}
}

func TestDRAC(t *testing.T) {
	ctx := ctxT(t)
	bmc := dractest.New("root", "calvin")
	srv := dractest.NewTLSServer(bmc)
	defer srv.Close()
	bmc.SetPower(pxelator.PowerOff)
	m := kiosk(drac.AttrAddress, srv.URL, drac.AttrUsername, "root", drac.AttrPassword, "calvin")

	// The card's certificate is self-signed: refused unless told.
	if err := power.Switch(ctx, m, power.Config{Logger: quiet}, power.On); err == nil || bmc.Power() != pxelator.PowerOff {
		t.Fatalf("On with an unverified certificate: %v, card %v", err, bmc.Power())
	}
	cfg := power.Config{InsecureSkipVerify: true, Logger: quiet, Recorder: &audittest.Recorder{}}
	for _, step := range []struct {
		a    power.Action
		want pxelator.PowerState
	}{{power.On, pxelator.PowerOn}, {power.On, pxelator.PowerOn}, {power.Reset, pxelator.PowerOn}, {power.Cycle, pxelator.PowerOn}, {power.Off, pxelator.PowerOff}} {
		if err := power.Switch(ctx, m, cfg, step.a); err != nil || bmc.Power() != step.want {
			t.Fatalf("%s: %v, card %v, want %v", step.a, err, bmc.Power(), step.want)
		}
		if n := bmc.Sessions(); n != 0 {
			t.Fatalf("%s left %d sessions open", step.a, n)
		}
	}
	c, err := power.For(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if st, err := c.PowerState(ctx); err != nil || st != pxelator.PowerOff {
		t.Errorf("PowerState = %v, %v", st, err)
	}
}

// listenWoL returns a UDP socket on loopback for magic packets and its
// port.
func listenWoL(t *testing.T) (net.PacketConn, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
}

func readPacket(t *testing.T, pc net.PacketConn) string {
	t.Helper()
	buf := make([]byte, 1500)
	pc.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(buf[:n])
}

func TestWakeOnLAN(t *testing.T) {
	ctx := ctxT(t)
	pc, port := listenWoL(t)
	rec := &audittest.Recorder{}
	magic := "ffffffffffff" + strings.Repeat("525400000a01", 16)

	// From the attributes.
	m := kiosk(power.AttrWoLBroadcast, "127.0.0.1", power.AttrWoLPort, port, power.AttrWoLSecureOn, "1.2.3.4")
	c, err := power.For(m, power.Config{Recorder: rec, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.On(ctx); err != nil {
		t.Fatal(err)
	}
	if got := readPacket(t, pc); got != magic+"01020304" {
		t.Errorf("packet %s", got)
	}
	for name, err := range map[string]error{"Off": c.Off(ctx), "SoftOff": c.SoftOff(ctx), "Cycle": c.Cycle(ctx), "Reset": c.Reset(ctx)} {
		if !errors.Is(err, errors.ErrUnsupported) || !errors.Is(err, wol.ErrUnsupported) {
			t.Errorf("%s: %v, want unsupported", name, err)
		}
	}
	if st, err := c.PowerState(ctx); st != pxelator.PowerUnknown || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("PowerState = %v, %v", st, err)
	}
	if evs := rec.Find("wol", "wake"); len(evs) != 1 || evs[0].MAC.String() != kioskMAC.String() {
		t.Errorf("wol events %+v", evs)
	}

	// From the config, the address as a prefix.
	p, _ := strconv.Atoi(port)
	cfg := power.Config{WoL: wol.Client{Broadcast: netip.MustParseAddr("127.0.0.1"), Port: p}, Logger: quiet}
	if err := power.Switch(ctx, kiosk(), cfg, power.On); err != nil {
		t.Fatal(err)
	}
	if got := readPacket(t, pc); got != magic {
		t.Errorf("packet %s", got)
	}
	if err := power.Switch(ctx, kiosk(power.AttrWoLBroadcast, "127.0.0.1/32", power.AttrWoLPort, port), power.Config{Logger: quiet}, power.On); err != nil {
		t.Fatal(err)
	}
	if got := readPacket(t, pc); got != magic {
		t.Errorf("packet %s", got)
	}
}

func TestBadAttributes(t *testing.T) {
	for _, tc := range []struct {
		m    pxelator.Machine
		want string
	}{
		{kiosk(power.AttrWoLBroadcast, "::1"), "not an IPv4 address"},
		{kiosk(power.AttrWoLBroadcast, "10.0.0.0/33"), "not an IPv4 prefix"},
		{kiosk(power.AttrWoLPort, "99999"), "not a port"},
		{kiosk(power.AttrWoLPort, "nine"), "not a port"},
		{kiosk(power.AttrWoLSecureOn, "hunter2"), "SecureOn"},
		{kiosk(power.AttrWoLInterface, "eth0", power.AttrWoLBroadcast, "10.0.0.255"), "not both"},
		{kiosk(amt.AttrAddress, "ftp://10.0.0.21"), "scheme"},
		{kiosk(drac.AttrAddress, "ftp://10.0.0.22"), "drac"},
		{pxelator.Machine{MAC: net.HardwareAddr{1, 2, 3, 4, 5, 6, 7, 8}, IP: netip.MustParseAddr("10.0.0.1")}, "6-byte MAC"},
	} {
		_, err := power.For(tc.m, power.Config{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "power: ") {
			t.Errorf("For(%v) = %v, want an error about %q", tc.m, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error shows the SecureOn password: %v", err)
		}
	}
}

func TestActions(t *testing.T) {
	ctx := ctxT(t)
	for _, tc := range []struct {
		a      power.Action
		action string
		state  pxelator.PowerState
	}{
		{power.On, "on", pxelator.PowerOn},
		{power.Off, "off", pxelator.PowerOff},
		{power.SoftOff, "soft-off", pxelator.PowerOff},
		{power.Cycle, "cycle", pxelator.PowerOn},
		{power.Reset, "reset", pxelator.PowerSleep},
	} {
		fake := powertest.New(pxelator.PowerSleep)
		if err := tc.a.Do(ctx, fake); err != nil {
			t.Errorf("%s: %v", tc.a, err)
		}
		if got := fake.Actions(); len(got) != 1 || got[0] != tc.action || fake.State() != tc.state {
			t.Errorf("%s: actions %v, state %v", tc.a, got, fake.State())
		}
	}
	if got := len(power.Actions()); got != 6 {
		t.Errorf("%d actions", got)
	}
	if err := power.Action("explode").Do(ctx, powertest.New(pxelator.PowerOn)); err == nil || !strings.Contains(err.Error(), `"explode"`) {
		t.Errorf("unknown action: %v", err)
	}
	// Switch refuses an unknown action before it opens anything.
	if err := power.Switch(ctx, kiosk(amt.AttrAddress, "ftp://nowhere"), power.Config{}, "explode"); err == nil || !strings.Contains(err.Error(), "unknown action") {
		t.Errorf("Switch of an unknown action: %v", err)
	}
}

// TestSwitcher: wake is a magic packet even to a machine with a BMC, the
// other actions go to the BMC, and a machine without one cannot tell its
// state.
func TestSwitcher(t *testing.T) {
	ctx := t.Context()
	lis, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	m := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}, IP: netip.MustParseAddr("10.0.0.11")}
	m.Set(amt.AttrAddress, "127.0.0.1:1") // nothing answers there
	m.Set(power.AttrWoLBroadcast, "127.0.0.1")
	m.Set(power.AttrWoLPort, strconv.Itoa(lis.LocalAddr().(*net.UDPAddr).Port))
	s := power.Switcher{Config: power.Config{AMT: amt.Config{Timeout: 2 * time.Second}}}
	if err := s.Do(ctx, m, string(power.Wake)); err != nil {
		t.Fatalf("wake: %v", err)
	}
	lis.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 200)
	n, _, err := lis.ReadFrom(b)
	if err != nil || n != 102 || !bytes.Equal(b[6:12], m.MAC) {
		t.Fatalf("no magic packet for %v: %d bytes, %v", m.MAC, n, err)
	}
	if err := s.Do(ctx, m, string(power.Off)); err == nil {
		t.Error("off reached no BMC and did not fail")
	}
	if _, err := s.State(ctx, m); err == nil || errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("state of a machine with an unreachable BMC: %v, want a connection error", err)
	}
	m.Set(amt.AttrAddress, "")
	if _, err := s.State(ctx, m); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("state of a wake-on-LAN machine: %v, want ErrUnsupported", err)
	}
	if err := s.Do(ctx, m, "explode"); err == nil {
		t.Error("an unknown action did not fail")
	}
}
