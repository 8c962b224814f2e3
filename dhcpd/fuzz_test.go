package dhcpd_test

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/dhcpd/dhcptest"
	"github.com/pxelator/pxelator/memstore"
)

// FuzzServeDHCP runs bytes through the packet path of a server: parsing,
// classification, the PXElator handler with a store, and delivery. It
// must never panic, and every reply must be a BOOTREPLY the library can
// decode again.
func FuzzServeDHCP(f *testing.F) {
	files, _ := filepath.Glob("testdata/captures/*.bin")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, mods := range [][]dhcpv4.Modifier{dhcptest.IPXEBIOS(), dhcptest.PXEFirmware(iana.EFI_X86_64), dhcptest.HTTPBoot(iana.EFI_ARM64_HTTP)} {
		f.Add(discover(f, mods...).ToBytes())
	}
	f.Add(discover(f).ToBytes()[:236]) // BOOTP without a cookie
	store := memstore.New()
	cfg := testConfig("10.77.0.100", "10.77.0.110")
	h, err := dhcpd.NewStoreHandler(store, cfg)
	if err != nil {
		f.Fatal(err)
	}
	cfg.Proxy = true
	proxy, err := dhcpd.NewStoreHandler(store, cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := dhcpd.ParseRequest(b)
		if err != nil {
			return
		}
		req.Peer = netip.MustParseAddrPort("0.0.0.0:68")
		if req.Relay.IsValid() && len(b)%2 == 0 { // from a configured relay, or a forged one
			req.Peer = netip.MustParseAddrPort("127.0.0.1:67")
		}
		req.Local = netip.MustParseAddrPort("255.255.255.255:67")
		for _, h := range []dhcpd.Handler{h, proxy} {
			w := &dhcptest.ResponseRecorder{}
			h.ServeDHCP(context.Background(), w, req)
			for _, r := range w.Replies() {
				if !dhcpd.Destination(req, r).IsValid() {
					t.Errorf("no destination for %v", r)
				}
				back, err := dhcpv4.FromBytes(r.ToBytes())
				if err != nil || back.OpCode != dhcpv4.OpcodeBootReply || back.TransactionID != req.Packet.TransactionID {
					t.Errorf("bad reply %v: %v", r, err)
				}
			}
		}
	})
}
