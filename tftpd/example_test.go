package tftpd_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/memstore"
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

// ExampleBootServer serves per-machine pxelinux configurations rendered
// from the embedded "linux" profile, and static files otherwise.
func ExampleBootServer() {
	store := memstore.New()
	m := pxelator.Machine{MAC: mustMAC("52:54:00:12:34:56"), IP: mustAddr("10.0.0.5"), Hostname: "ws-05", Profile: "linux"}
	m.Set("cmdline", "console=ttyS0")
	store.Put(context.Background(), m)

	s := tftptest.NewServer(tftpd.BootServer(&boot.Files{Root: os.TempDir(), Store: store}))
	defer s.Close()
	data, _, err := (&tftptest.Client{}).Get(context.Background(), s.Addr, "pxelinux.cfg/01-52-54-00-12-34-56")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(strings.ReplaceAll(string(data), "\t", "  "))
	// Output:
	// # PXElator profile "linux" for ws-05 52:54:00:12:34:56 10.0.0.5.
	// DEFAULT linux
	// PROMPT 0
	// LABEL linux
	//   KERNEL vmlinuz
	//   INITRD initrd.gz
	//   APPEND initrd=initrd.gz console=ttyS0
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
