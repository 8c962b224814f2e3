package power_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/power"
)

// A machine with an AMT device is switched through it; its credentials
// are attributes, the password a secret one.
func ExampleFor() {
	ctx := context.Background()
	bmc := amttest.NewServer(amttest.Options{State: pxelator.PowerOff}) // a real device in a server
	defer bmc.Close()

	m := pxelator.Machine{MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0x0a, 1}, IP: netip.MustParseAddr("10.0.0.11")}
	m.Set(amt.AttrAddress, bmc.URL)
	m.Set(amt.AttrUsername, bmc.Username())
	m.SetSecret(amt.AttrPassword, bmc.Password())

	c, err := power.For(m, power.Config{Logger: quiet})
	if err != nil {
		panic(err)
	}
	defer c.Close(ctx)
	before, _ := c.PowerState(ctx)
	if err := c.On(ctx); err != nil {
		panic(err)
	}
	after, _ := c.PowerState(ctx)
	fmt.Println(power.BackendOf(m), before, "->", after)
	// Output: amt off -> on
}

func ExampleBackendOf() {
	var kiosk, server, desktop pxelator.Machine
	kiosk.Set(amt.AttrAddress, "10.0.0.21")
	server.Set(drac.AttrAddress, "https://10.0.0.22")
	for _, m := range []pxelator.Machine{kiosk, server, desktop} {
		b := power.BackendOf(m)
		fmt.Println(b, "can read the power state:", b.CanRead())
	}
	// Output:
	// amt can read the power state: true
	// drac can read the power state: true
	// wol can read the power state: false
}
