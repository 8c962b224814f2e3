package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/web"
)

// Mount the overview beside other handlers, and read the machines from
// the JSON API. Without Audit, Power, Monitor and Schedule the pages
// show what the store holds; without Token nothing can be changed.
func Example() {
	store := memstore.New()
	m := pxelator.Machine{
		MAC:      net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x0a, 0x01},
		IP:       netip.MustParseAddr("10.77.0.101"),
		Hostname: "kiosk-01",
		Profile:  "linux",
	}
	m.SetSecret("amt.password", "hunter2")
	if err := store.Put(context.Background(), m); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/", &web.Handler{Store: store})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/api/machines/52:54:00:00:0a:01")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var info web.MachineInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Hostname, info.IP, info.Profile, info.Netboot, info.Secrets)
	// Output: kiosk-01 10.77.0.101 linux true [amt.password]
}
