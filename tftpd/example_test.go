package tftpd_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"testing/fstest"

	"github.com/pxelator/pxelator/tftpd"
	"github.com/pxelator/pxelator/tftpd/tftptest"
)

func ExampleFileServer() {
	dir, err := os.MkdirTemp("", "tftpboot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello, world\n"), 0o644)

	s := tftptest.NewServer(tftpd.FileServer(dir))
	defer s.Close()
	c := &tftptest.Client{Options: map[string]string{"tsize": "0", "windowsize": "4"}}
	data, res, err := c.Get(context.Background(), s.Addr, "hello.txt")
	fmt.Printf("%q %v %v\n", data, res.OACK, err)
	_, _, err = c.Get(context.Background(), s.Addr, "../etc/passwd")
	fmt.Println(err)
	// Output:
	// "hello, world\n" map[tsize:13 windowsize:4] <nil>
	// tftptest: server error 2: access violation: name leaves the boot root
}

func ExampleServeMux() {
	mux := tftpd.NewServeMux()
	mux.HandleFunc("motd.txt", func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		msg := fmt.Sprintf("hello %v\n", r.RemoteAddr.Addr())
		w.SetSize(int64(len(msg)))
		io.WriteString(w, msg)
	})
	mux.HandleFunc("*.efi", func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		tftpd.Error(w, tftpd.CodeAccess, "no EFI here")
	})
	s := tftptest.NewServer(mux)
	defer s.Close()
	for _, name := range []string{"motd.txt", "ipxe.efi", "other"} {
		data, _, err := (&tftptest.Client{}).Get(context.Background(), s.Addr, name)
		fmt.Printf("%s: %q %v\n", name, data, err)
	}
	// Output:
	// motd.txt: "hello 127.0.0.1\n" <nil>
	// ipxe.efi: "" tftptest: server error 2: no EFI here
	// other: "" tftptest: server error 1: file not found
}

// greeter is an Opener that makes hello.txt for each client.
type greeter struct{}

func (greeter) OpenTFTP(ctx context.Context, name string, client, server netip.Addr) (fs.File, error) {
	if name != "hello.txt" {
		return nil, fs.ErrNotExist
	}
	text := fmt.Sprintf("hello %v, this is %v\n", client, server)
	return fstest.MapFS{name: {Data: []byte(text)}}.Open(name)
}

// ExampleOpenerHandler serves files an Opener makes for the client that
// asks (package boot's Files is one: per-machine boot configurations).
func ExampleOpenerHandler() {
	s := tftptest.NewServer(tftpd.OpenerHandler(greeter{}))
	defer s.Close()
	c := &tftptest.Client{Options: map[string]string{"tsize": "0"}}
	for _, name := range []string{"hello.txt", "other"} {
		data, res, err := c.Get(context.Background(), s.Addr, name)
		fmt.Printf("%s: %q %v %v\n", name, data, res.OACK, err)
	}
	// Output:
	// hello.txt: "hello 127.0.0.1, this is 127.0.0.1\n" map[tsize:35] <nil>
	// other: "" map[] tftptest: server error 1: file not found
}

func ExampleServer() {
	srv := &tftpd.Server{
		Addr:    ":69",
		Handler: tftpd.FileServer("/srv/tftp"),
	}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != tftpd.ErrServerClosed {
			log.Fatal(err)
		}
	}()
	// ... later:
	srv.Shutdown(context.Background())
}
