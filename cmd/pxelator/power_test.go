package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/drac/dractest"
	"github.com/pxelator/pxelator/memstore"
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
	pollPower(ctx, powerSettings{insecure: true}, d)
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

	c, readable, err := powerFor(wolOnly, powerSettings{}, d)
	if err != nil || readable {
		t.Fatalf("powerFor(no BMC) = %T, %t, %v", c, readable, err)
	}
	if _, err := c.PowerState(ctx); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Wake-on-LAN PowerState: %v, want ErrUnsupported", err)
	}
}
