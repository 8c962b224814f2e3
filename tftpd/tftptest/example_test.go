package tftptest_test

import (
	"context"
	"fmt"
	"io"

	"github.com/pxelator/pxelator/tftpd"
	"github.com/pxelator/pxelator/tftpd/tftptest"
)

// A handler under test is served on a loopback port and read with the
// scripted client, here with a block size and a window.
func Example() {
	srv := tftptest.NewServer(tftpd.HandlerFunc(func(ctx context.Context, w tftpd.ResponseWriter, r *tftpd.Request) {
		io.WriteString(w, "hello "+r.Filename)
	}))
	defer srv.Close()
	c := &tftptest.Client{Options: map[string]string{"blksize": "1468", "windowsize": "8"}}
	data, res, err := c.Get(context.Background(), srv.Addr, "pxelinux.0")
	fmt.Printf("%q %v blksize=%s\n", data, err, res.OACK["blksize"])
	// Output: "hello pxelinux.0" <nil> blksize=1468
}
