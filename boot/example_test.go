package boot_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/memstore"
)

// ExampleFiles_Open renders a machine's iPXE script from the embedded
// "linux" profile.
func ExampleFiles_Open() {
	store := memstore.New()
	m := pxelator.Machine{MAC: mustMAC("52:54:00:12:34:56"), IP: netip.MustParseAddr("10.0.0.5"), Hostname: "ws-05", Profile: "linux"}
	m.Set("cmdline", "console=ttyS0 quiet")
	store.Put(context.Background(), m)

	files := &boot.Files{Root: os.TempDir(), Store: store}
	f, err := files.Open(context.Background(), boot.Request{
		Name:   "boot.ipxe",
		Client: netip.MustParseAddr("10.0.0.5"),
		Server: netip.MustParseAddr("10.0.0.1"),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	io.Copy(os.Stdout, f.Content)
	// Output:
	// #!ipxe
	// # PXElator profile "linux" for ws-05 52:54:00:12:34:56 10.0.0.5: vmlinuz and initrd.gz of the boot root, over HTTP.
	// # Variables: .Hostname .MAC .IP, .HTTP (the HTTP boot root); attribute cmdline (more kernel parameters).
	// kernel http://10.0.0.1/boot/vmlinuz initrd=initrd.gz console=ttyS0 quiet
	// initrd http://10.0.0.1/boot/initrd.gz
	// boot
}

// ExampleHTTPHandler mounts the HTTP boot handler under /boot/ of a mux that
// other handlers share.
func ExampleHTTPHandler() {
	dir, err := os.MkdirTemp("", "boot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(dir+"/vmlinuz", []byte("0123456789"), 0o644)

	mux := http.NewServeMux()
	mux.Handle("/boot/", http.StripPrefix("/boot", &boot.HTTPHandler{Files: &boot.Files{Root: dir}}))
	s := httptest.NewServer(mux)
	defer s.Close()

	req, _ := http.NewRequest("GET", s.URL+"/boot/vmlinuz", nil)
	req.Header.Set("Range", "bytes=2-5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Content-Range"), string(body))
	// Output:
	// 206 Partial Content bytes 2-5/10 2345
}
