package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
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
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/power"
)

func TestPollPower(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := amttest.NewServer(amttest.Options{State: pxelator.PowerOff})
	defer srv.Close()

	store := memstore.New()
	withAMT := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}, IP: netip.MustParseAddr("10.0.0.11")}
	withAMT.Set(amt.AttrAddress, srv.URL)
	withAMT.Set(amt.AttrUsername, srv.Username())
	withAMT.SetSecret(amt.AttrPassword, srv.Password())
	wolOnly := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 2}, IP: netip.MustParseAddr("10.0.0.12")}
	bmc := dractest.New("root", "calvin")
	dsrv := dractest.NewTLSServer(bmc)
	defer dsrv.Close()
	withDRAC := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 3}, IP: netip.MustParseAddr("10.0.0.13")}
	withDRAC.Set(drac.AttrAddress, dsrv.URL)
	withDRAC.Set(drac.AttrUsername, "root")
	withDRAC.SetSecret(drac.AttrPassword, "calvin")
	for _, m := range []pxelator.Machine{withAMT, wolOnly, withDRAC} {
		if err := store.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	rec := &audittest.Recorder{}
	d := deps{store: store, audit: rec, log: slog.New(slog.NewTextHandler(io.Discard, nil))}

	// The emulated iDRAC has a self-signed certificate: -power-insecure.
	pollPower(ctx, (&powerSettings{insecure: true}).config(d), d)
	evs := rec.Find("amt", "power_state")
	if len(evs) != 1 || evs[0].Fields["state"] != "off" || evs[0].MAC.String() != withAMT.MAC.String() {
		t.Fatalf("audit = %+v, want one power_state off for %v", evs, withAMT.MAC)
	}
	evs = rec.Find("drac", "power_state")
	if len(evs) != 1 || evs[0].Fields["state"] != "on" || evs[0].MAC.String() != withDRAC.MAC.String() {
		t.Fatalf("audit = %+v, want one power_state on for %v", evs, withDRAC.MAC)
	}
	if n := bmc.Sessions(); n != 0 {
		t.Errorf("the poll left %d Redfish sessions open", n)
	}
	if evs := rec.Find("wol", ""); len(evs) != 0 {
		t.Errorf("the poll woke a machine without a BMC: %+v", evs)
	}
}

// TestPowerCommands runs the DNS power commands against an AMT emulator
// and a Wake-on-LAN listener on loopback.
func TestPowerCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := amttest.NewServer(amttest.Options{State: pxelator.PowerOn})
	defer srv.Close()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()

	withAMT := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 1}, IP: netip.MustParseAddr("10.0.0.11")}
	withAMT.Set(amt.AttrAddress, srv.URL)
	withAMT.Set(amt.AttrUsername, srv.Username())
	withAMT.SetSecret(amt.AttrPassword, srv.Password())
	wolOnly := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0, 2}, IP: netip.MustParseAddr("10.0.0.12")}
	wolOnly.Set(power.AttrWoLBroadcast, "127.0.0.1")
	wolOnly.Set(power.AttrWoLPort, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))

	rec := &audittest.Recorder{}
	cmds := powerCommands(&settings{}, deps{audit: rec, log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var names []string
	for name := range cmds {
		names = append(names, name)
	}
	slices.Sort(names)
	if got := strings.Join(names, " "); got != "cycle off on reset soft-off wake" {
		t.Errorf("commands %s", got)
	}
	if err := cmds["off"](ctx, withAMT); err != nil || srv.State() != pxelator.PowerOff {
		t.Errorf("off: %v, emulator %v", err, srv.State())
	}
	if err := cmds["wake"](ctx, wolOnly); err != nil {
		t.Fatal(err)
	}
	pc.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 1500)
	if n, _, err := pc.ReadFrom(buf); err != nil || n != 102 {
		t.Errorf("magic packet: %d bytes, %v", n, err)
	}
	if err := cmds["off"](ctx, wolOnly); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("off by Wake-on-LAN: %v, want unsupported", err)
	}
}
