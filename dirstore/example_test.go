package dirstore_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dirstore"
)

// A machine is put into a Store as plain files and found by MAC,
// address or host name.
func Example() {
	dir, _ := os.MkdirTemp("", "conf")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := dirstore.Open(ctx, dir, &dirstore.Options{Server: netip.MustParseAddr("10.0.0.1")})
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

// Reload picks up what was edited by hand in a store opened with NoWatch;
// a watching store sees it by itself.
func ExampleStore_Reload() {
	dir, _ := os.MkdirTemp("", "conf")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := dirstore.Open(ctx, dir, &dirstore.Options{Server: netip.MustParseAddr("10.0.0.1"), NoWatch: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	machine := filepath.Join(dir, "10.0.0.1", "10.0.0.62")
	os.MkdirAll(machine, 0o755)
	os.WriteFile(filepath.Join(machine, "mac"), []byte("52:54:00:00:0a:3e\n"), 0o644)
	os.WriteFile(filepath.Join(machine, "profile"), []byte("rescue\n"), 0o644)
	fmt.Println("before:", store.Len())
	if err := store.Reload(ctx); err != nil {
		fmt.Println(err)
		return
	}
	m, _ := store.ByIP(ctx, netip.MustParseAddr("10.0.0.62"))
	fmt.Println("after:", store.Len(), m)
	// Output:
	// before: 0
	// after: 1 52:54:00:00:0a:3e 10.0.0.62 profile=rescue
}
