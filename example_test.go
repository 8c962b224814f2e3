package pxelator_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/memstore"
)

// Watch tells of every change, so that a DNS server can bump its serial.
func ExampleStore_watch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var store pxelator.Store = memstore.New()
	changes := store.Watch(ctx)
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	store.Put(ctx, pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.7"), Server: netip.MustParseAddr("10.0.0.1")})
	fmt.Println("generation", <-changes)
	// Output: generation 1
}

// Set takes the fields by their attribute keys too, as a file of a
// machine directory names them; secrets are never printed.
func ExampleMachine_Set() {
	var m pxelator.Machine
	m.IP = netip.MustParseAddr("10.0.0.61")
	m.Set(pxelator.AttrMAC, "52-54-00-00-0A-3D")
	m.Set(pxelator.AttrHostname, "kiosk-01")
	m.Set("kiosk.on", "07:30")
	m.SetSecret("amt.password", "hunter2")
	fmt.Println(m, m.Validate())
	m.Set(pxelator.AttrMAC, "not a MAC")
	fmt.Println(m.Validate())
	// Output:
	// 52:54:00:00:0a:3d 10.0.0.61 hostname=kiosk-01 amt.password="[secret]" kiosk.on="07:30" <nil>
	// pxelator: machine 10.0.0.61: no MAC address
}
