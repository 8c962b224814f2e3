// Command syslogbench is the load generator and the measured server of
// bench/syslog.sh.
//
//	syslogbench serve -addr 127.0.0.1:PORT -stats FILE
//
// runs a syslogd.Server on UDP and TCP whose handler records every message
// into an audit.Batcher (with a backend that counts documents and
// entries), and rewrites FILE every 100ms with the counters.
//
//	syslogbench gen -net udp|tcp -addr 127.0.0.1:PORT -rate N -duration D -size S
//
// sends RFC 3164 messages of S bytes at N per second (0: as fast as
// possible) for D, and prints what it sent.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/syslogd"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: syslogbench serve|gen [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "gen":
		err = gen(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "syslogbench:", err)
		os.Exit(1)
	}
}

// counter is an audit.Inserter that counts and forgets.
type counter struct{ docs, entries atomic.Uint64 }

func (c *counter) Insert(ctx context.Context, docs []audit.Document) error {
	c.docs.Add(uint64(len(docs)))
	for _, d := range docs {
		c.entries.Add(uint64(len(d.Entries)))
	}
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:5514", "UDP and TCP `address`")
	statsFile := fs.String("stats", "", "rewrite `FILE` with the counters every 100ms")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `FILE`")
	fs.Parse(args)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	store := memstore.New()
	store.Put(ctx, pxelator.Machine{
		MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 0x0a, 0x3d}, IP: netip.MustParseAddr("127.0.0.1"), Hostname: "bench",
	})
	sink := &counter{}
	b := audit.NewBatcher(sink, nil)
	srv := &syslogd.Server{
		Addr:    *addr,
		Store:   store,
		Handler: syslogd.AuditHandler(b, nil),
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	write := func() {
		s, a := srv.Stats(), b.Stats()
		line := fmt.Sprintf("messages %d udp %d tcp %d malformed %d truncated %d udp_dropped_by_server %d udp_dropped_by_kernel %d audit_recorded %d audit_dropped %d documents %d entries %d\n",
			s.Messages, s.UDPMessages, s.Messages-s.UDPMessages, s.Malformed, s.Truncated, s.UDPDropped, s.UDPKernelDropped,
			a.Recorded, a.DroppedQueue+a.DroppedPending, sink.docs.Load(), sink.entries.Load())
		if *statsFile == "" {
			return
		}
		tmp := *statsFile + ".tmp"
		if os.WriteFile(tmp, []byte(line), 0o644) == nil {
			os.Rename(tmp, *statsFile)
		}
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-tick.C:
			write()
		case <-ctx.Done():
			shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			srv.Shutdown(shut)
			b.Close(shut)
			write()
			return nil
		}
	}
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	network := fs.String("net", "udp", "udp or tcp")
	addr := fs.String("addr", "127.0.0.1:5514", "server `address`")
	rate := fs.Int("rate", 50000, "messages per second; 0 for as fast as possible")
	duration := fs.Duration("duration", 5*time.Second, "how long to send")
	size := fs.Int("size", 200, "message size in bytes")
	fs.Parse(args)

	c, err := net.Dial(*network, *addr)
	if err != nil {
		return err
	}
	defer c.Close()
	var w *bufio.Writer
	if *network == "tcp" {
		w = bufio.NewWriterSize(c, 64<<10)
	}
	host, _ := os.Hostname()
	msg := func(seq int) []byte {
		head := fmt.Sprintf("<13>%s %s syslogbench[%d]: seq %010d ", time.Now().Format(time.Stamp), host, os.Getpid(), seq)
		pad := max(*size-len(head)-1, 0)
		return []byte(head + strings.Repeat("x", pad) + "\n")
	}
	start := time.Now()
	sent := 0
	for {
		elapsed := time.Since(start)
		if elapsed >= *duration {
			break
		}
		due := 1 << 30
		if *rate > 0 {
			due = int(elapsed.Seconds()*float64(*rate)) + 1
		}
		if sent >= due {
			if w != nil {
				w.Flush()
			}
			time.Sleep(200 * time.Microsecond)
			continue
		}
		for n := 0; sent < due && n < 256; n++ {
			b := msg(sent)
			if w != nil {
				_, err = w.Write(b)
			} else {
				_, err = c.Write(b)
			}
			if err != nil {
				return fmt.Errorf("after %d messages: %w", sent, err)
			}
			sent++
		}
	}
	if w != nil {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	secs := time.Since(start).Seconds()
	fmt.Printf("sent %d in %.2fs = %.0f msg/s\n", sent, secs, float64(sent)/secs)
	return nil
}
