package syslogtest_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/pxelator/pxelator/syslogd"
	"github.com/pxelator/pxelator/syslogd/syslogtest"
)

// A test starts a server with a Recorder, has its code under test send
// syslog to UDPAddr or TCPAddr, and waits for the messages.
func ExampleRecorder() {
	rec := &syslogtest.Recorder{}
	srv := syslogtest.NewServer(&syslogd.Server{Handler: rec})
	defer srv.Close()

	c, err := net.Dial("tcp", srv.TCPAddr.String())
	if err != nil {
		panic(err)
	}
	fmt.Fprint(c, "<13>Nov 24 07:30:02 kiosk-01 app: first\n")
	fmt.Fprint(c, "33 <13>1 - kiosk-01 app - - - second")
	c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs, err := rec.Wait(ctx, 2)
	if err != nil {
		panic(err)
	}
	for _, m := range msgs {
		fmt.Println(m.Format, m.Hostname, m.AppName, m.Text)
	}
	// Output:
	// rfc3164 kiosk-01 app first
	// rfc5424 kiosk-01 app second
}
