package syslogd_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/syslogd"
	"github.com/pxelator/pxelator/syslogd/syslogtest"
)

// BenchmarkServerTCP measures messages per second over one TCP connection
// into the audit handler and a Batcher.
func BenchmarkServerTCP(b *testing.B) {
	batcher := audit.NewBatcher(&audittest.Inserter{}, nil)
	defer batcher.Close(context.Background())
	var n atomic.Int64
	done := make(chan struct{})
	want := int64(0)
	count := syslogd.HandlerFunc(func(ctx context.Context, m *syslogd.Message) {
		if n.Add(1) == atomic.LoadInt64(&want) {
			close(done)
		}
	})
	ts := syslogtest.NewServer(&syslogd.Server{Store: kioskStore(b), Handler: syslogd.AuditHandler(batcher, count)})
	defer ts.Close()
	c, err := net.Dial("tcp", ts.TCPAddr.String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const msg = "<6>Nov 24 11:30:56 kiosk-01 kernel: [    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)"
	atomic.StoreInt64(&want, int64(b.N))
	b.SetBytes(int64(len(msg) + 1))
	b.ResetTimer()
	w := bufio.NewWriterSize(c, 64<<10)
	for range b.N {
		fmt.Fprintln(w, msg)
	}
	w.Flush()
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(batcher.Stats().DroppedQueue), "audit-drops")
}
