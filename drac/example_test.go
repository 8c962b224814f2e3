package drac_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/drac/dractest"
)

// Switch a machine off and on again through Redfish, against an
// emulated iDRAC. Against a real card, the address is the card's host
// name and HTTPClient one that trusts its certificate.
func ExampleRedfish() {
	bmc := dractest.New("root", "calvin")
	srv := dractest.NewTLSServer(bmc)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := drac.NewRedfish(srv.URL, drac.Config{Username: "root", Password: "calvin", HTTPClient: srv.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	if err := c.Off(ctx); err != nil {
		fmt.Println(err)
		return
	}
	st, _ := c.PowerState(ctx)
	fmt.Println("after Off:", st)
	if err := c.On(ctx); err != nil {
		fmt.Println(err)
		return
	}
	// Already on: not an error.
	fmt.Println("On again:", c.On(ctx))
	st, _ = c.PowerState(ctx)
	fmt.Println("after On:", st)
	// Output:
	// after Off: off
	// On again: <nil>
	// after On: on
}

// Read the power state and power a machine up with remote RACADM.
func ExampleLegacy() {
	bmc := dractest.New("root", "calvin")
	bmc.SetPower(pxelator.PowerOff)
	srv := dractest.NewTLSServer(bmc)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := drac.NewLegacy(srv.URL, drac.Config{Username: "root", Password: "calvin", HTTPClient: srv.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	st, err := c.PowerState(ctx)
	fmt.Println(st, err)
	out, err := c.RACADM(ctx, "serveraction", "powerup")
	fmt.Println(out, err)
	st, err = c.PowerState(ctx)
	fmt.Println(st, err)
	// Output:
	// off <nil>
	// Server power operation successful <nil>
	// on <nil>
}

// Ask the web interface for a virtual console session: the ports a
// viewer connects to.
func ExampleLegacy_VirtualConsole() {
	bmc := dractest.New("root", "calvin")
	srv := dractest.NewTLSServer(bmc)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := drac.NewLegacy(srv.URL, drac.Config{Username: "root", Password: "calvin", HTTPClient: srv.Client()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Logout(ctx)

	s, err := c.VirtualConsole(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("keyboard/mouse:", s.KeyboardMousePort, "video:", s.VideoPort, "encrypted:", s.Encrypted)
	// Output:
	// keyboard/mouse: 5900 video: 5901 encrypted: true
}

// Configure a Redfish client from the attributes of a machine in the
// store.
func ExampleNewRedfishFor() {
	bmc := dractest.New("root", "calvin")
	srv := dractest.NewTLSServer(bmc)
	defer srv.Close()

	m := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}
	m.Set(drac.AttrAddress, srv.URL) // normally an address such as 10.0.2.5
	m.Set(drac.AttrUsername, "root")
	m.SetSecret(drac.AttrPassword, "calvin")

	c, err := drac.NewRedfishFor(m, drac.Config{HTTPClient: srv.Client()})
	if err != nil {
		log.Fatal(err)
	}
	st, err := c.PowerState(context.Background())
	fmt.Println(st, err)
	c.Close(context.Background())
	// Output: on <nil>
}
