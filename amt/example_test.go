package amt_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/netip"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
)

// Switch a machine on through its AMT device; here the device is the
// emulator of package amttest.
func ExampleClient() {
	srv := amttest.NewServer(amttest.Options{State: pxelator.PowerOff})
	defer srv.Close()

	c, err := amt.NewClient(srv.URL, amt.Config{Username: srv.Username(), Password: srv.Password()})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	st, err := c.PowerState(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("before:", st)
	if err := c.On(ctx); err != nil {
		log.Fatal(err)
	}
	st, _ = c.PowerState(ctx)
	fmt.Println("after:", st)

	// A machine that is on cannot be switched on again, but that is not
	// an error; a reset of a machine that is off is.
	fmt.Println("on again:", c.On(ctx))
	c.Off(ctx)
	err = c.Reset(ctx)
	var rv *amt.ReturnValueError
	fmt.Println("reset when off refused:", errors.As(err, &rv), rv.Code)
	// Output:
	// before: off
	// after: on
	// on again: <nil>
	// reset when off refused: true 2
}

// Configure a client from the attributes of a machine in the store.
func ExampleNewClientFor() {
	srv := amttest.NewServer(amttest.Options{})
	defer srv.Close()

	m := pxelator.Machine{
		MAC: net.HardwareAddr{0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
		IP:  netip.MustParseAddr("10.0.0.5"),
	}
	m.Set(amt.AttrAddress, srv.URL) // normally an address such as 10.0.1.5
	m.Set(amt.AttrUsername, srv.Username())
	m.SetSecret(amt.AttrPassword, srv.Password())

	c, err := amt.NewClientFor(m, amt.Config{})
	if err != nil {
		log.Fatal(err)
	}
	st, err := c.PowerState(context.Background())
	fmt.Println(st, err)
	// Output: on <nil>
}
