package syslogd_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/syslogd"
	"github.com/pxelator/pxelator/syslogd/syslogtest"
)

// A server ties every line to the machine that sent it.
func ExampleServer() {
	store := memstore.New()
	store.Put(context.Background(), pxelator.Machine{
		MAC:      net.HardwareAddr{0x52, 0x54, 0x00, 0x00, 0x0a, 0x3d},
		IP:       netip.MustParseAddr("127.0.0.1"),
		Hostname: "kiosk-01",
	})
	got := make(chan string, 1)
	srv := syslogtest.NewServer(&syslogd.Server{
		Store: store,
		Handler: syslogd.HandlerFunc(func(ctx context.Context, m *syslogd.Message) {
			got <- m.String()
		}),
	})
	defer srv.Close()

	c, err := net.Dial("udp", srv.UDPAddr.String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "<6>Nov 24 07:30:02 localhost kernel: Linux version 6.1.0-56-amd64")
	fmt.Println(<-got)
	// Output: kiosk-01 kern.info kernel: Linux version 6.1.0-56-amd64
}

// AuditHandler records lines so that an audit.Batcher merges one
// machine's lines of one second into one document.
func ExampleAuditHandler() {
	ins := &audittest.Inserter{}
	b := audit.NewBatcher(ins, nil)
	h := syslogd.AuditHandler(b, nil)
	at := time.Date(2026, 11, 24, 7, 30, 2, 0, time.UTC)
	for i := range 3 {
		h.ServeSyslog(context.Background(), &syslogd.Message{
			Received: at.Add(time.Duration(i) * time.Millisecond),
			Source:   netip.MustParseAddrPort("10.0.0.7:514"),
			Network:  "udp",
			Priority: 6, // kern.info
			AppName:  "kernel",
			Text:     fmt.Sprintf("boot line %d", i),
		})
	}
	b.Close(context.Background())
	for _, d := range ins.Documents() {
		fmt.Println(d.ID, len(d.Entries), "entries")
		for _, e := range d.Entries {
			fmt.Println(" ", e.Action, e.Fields["facility"], e.Fields["severity"], e.Fields["app"], e.Fields["msg"])
		}
	}
	// Output:
	// 2026-11-24.07:30:02.syslogd.10.0.0.7 3 entries
	//   log kern info kernel boot line 0
	//   log kern info kernel boot line 1
	//   log kern info kernel boot line 2
}
