package pxelator_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/pxelator/pxelator"
)

// A machine is put into a DirStore as plain files and found by MAC,
// address or host name.
func Example() {
	dir, _ := os.MkdirTemp("", "conf")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := pxelator.OpenDir(ctx, dir, &pxelator.DirOptions{Server: netip.MustParseAddr("10.0.0.1")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	mac, _ := net.ParseMAC("52:54:00:00:0a:3d")
	m := pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.61"), Hostname: "kiosk-01"}
	m.Set("kiosk.on", "07:30")
	m.SetSecret("amt.password", "hunter2")
	if err := store.Put(ctx, m); err != nil {
		fmt.Println(err)
		return
	}

	found, _ := store.ByHostname(ctx, "KIOSK-01")
	fmt.Println(found)
	// Put returned once the machine was durable; Flush waits until its
	// files are written too.
	store.Flush(ctx)
	b, _ := os.ReadFile(filepath.Join(dir, "10.0.0.1", "10.0.0.61", "hostname"))
	fmt.Printf("hostname file: %s", b)
	// Output:
	// 52:54:00:00:0a:3d 10.0.0.61 hostname=kiosk-01 amt.password="[secret]" kiosk.on="07:30"
	// hostname file: kiosk-01
}

// A MemStore answers the same lookups without touching a disk.
func ExampleMemStore() {
	ctx := context.Background()
	store := pxelator.NewMemStore()
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	store.Put(ctx, pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.7"), Server: netip.MustParseAddr("10.0.0.1")})
	m, err := store.ByIP(ctx, netip.MustParseAddr("10.0.0.7"))
	fmt.Println(m.MAC, err)
	_, err = store.ByHostname(ctx, "nobody")
	fmt.Println(err)
	// Output:
	// 52:54:00:12:34:56 <nil>
	// pxelator: machine not found
}

// Watch tells of every change, so that a DNS server can bump its serial.
func ExampleStore_watch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var store pxelator.Store = pxelator.NewMemStore()
	changes := store.Watch(ctx)
	mac, _ := net.ParseMAC("52:54:00:12:34:56")
	store.Put(ctx, pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.7"), Server: netip.MustParseAddr("10.0.0.1")})
	fmt.Println("generation", <-changes)
	// Output: generation 1
}
