// Command dnsd serves a dnsd.StoreHandler over a MemStore of N machines for
// bench/dns.sh, renaming one more machine every -rename while it serves,
// and writes the same names as a hosts file (for dnsmasq), as zone files
// (for NSD and Knot) and as a dnsperf query file.
//
//	go run ./bench/dnsd -addr 127.0.0.1:5300 -n 10000 -hosts H -queries Q -zones DIR
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dnsd"
	"github.com/pxelator/pxelator/memstore"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5300", "serve on `ADDR:PORT`")
	n := flag.Int("n", 10000, "number of machines")
	zone := flag.String("zone", "pxe", "DNS zone")
	rename := flag.Duration("rename", 10*time.Millisecond, "rename a machine every `DURATION` (0: never)")
	hosts := flag.String("hosts", "", "write a hosts file of the machines to `FILE` and exit")
	queries := flag.String("queries", "", "write a dnsperf query file (A and PTR) to `FILE` and exit")
	zones := flag.String("zones", "", "write the zone files <zone>.zone and 1.10.in-addr.arpa.zone to `DIR` and exit")
	serial := flag.Uint("serial", 1, "SOA serial of the zone files; with -moving NAME, the extra machine is named NAME")
	moving := flag.String("moving", "", "name of the extra machine in the zone files (the one the store renames)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the serving to `FILE`")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "dnsd bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if *zones != "" {
		if err := writeZones(*zones, *n, *zone, uint32(*serial), *moving); err != nil {
			fmt.Fprintln(os.Stderr, "dnsd bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*addr, *n, *zone, *rename, *hosts, *queries); err != nil {
		fmt.Fprintln(os.Stderr, "dnsd bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// machine i is host-<i> at 10.1.<i/256>.<i%256>; the renamed one is the
// machine after the last.
func machine(i int, name string) pxelator.Machine {
	return pxelator.Machine{
		MAC:      net.HardwareAddr{0x52, 0x54, 0, byte(i >> 16), byte(i >> 8), byte(i)},
		IP:       netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}),
		Hostname: name,
	}
}

func run(addr string, n int, zone string, rename time.Duration, hosts, queries string) error {
	if n > 65000 {
		return errors.New("-n: at most 65000 machines")
	}
	if hosts != "" || queries != "" {
		return writeFiles(n, zone, hosts, queries)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	store := memstore.New()
	for i := range n + 1 {
		if err := store.Put(ctx, machine(i, fmt.Sprintf("host-%d", i))); err != nil {
			return err
		}
	}
	h, err := dnsd.NewStoreHandler(dnsd.Config{
		Zone:     zone,
		Store:    store,
		Networks: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	defer h.Close()
	srv := &dnsd.Server{Addr: addr, Handler: h}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	fmt.Printf("dnsd bench: serving %d machines on %s\n", n, addr)

	renames := 0
	var tick <-chan time.Time
	if rename > 0 {
		t := time.NewTicker(rename)
		defer t.Stop()
		tick = t.C
	}
	first := h.Serial()
loop:
	for {
		select {
		case <-tick:
			renames++
			if err := store.Put(ctx, machine(n, fmt.Sprintf("moving-%d", renames))); err != nil {
				return err
			}
		case <-ctx.Done():
			break loop
		case err := <-served:
			return err
		}
	}
	fmt.Printf("dnsd bench: %d renames, SOA serial %d -> %d\n", renames, first, h.Serial())
	shut, cancelShut := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShut()
	return srv.Shutdown(shut)
}

func writeFiles(n int, zone, hosts, queries string) error {
	write := func(path string, line func(w *bufio.Writer, i int)) error {
		if path == "" {
			return nil
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		for i := range n {
			line(w, i)
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	err := write(hosts, func(w *bufio.Writer, i int) {
		fmt.Fprintf(w, "%v host-%d.%s\n", machine(i, "").IP, i, zone)
	})
	if err != nil {
		return err
	}
	return write(queries, func(w *bufio.Writer, i int) {
		ip := machine(i, "").IP.As4()
		fmt.Fprintf(w, "host-%d.%s A\n%d.%d.%d.%d.in-addr.arpa PTR\n", i, zone, ip[3], ip[2], ip[1], ip[0])
	})
}

// writeZones writes the forward and reverse zones of the n machines (and
// of the extra one named moving, when set) in RFC 1035 master file format.
func writeZones(dir string, n int, zone string, serial uint32, moving string) error {
	soa := func(w *bufio.Writer, origin string) {
		fmt.Fprintf(w, "$ORIGIN %s.\n$TTL 5\n@ IN SOA ns.%s. hostmaster.%s. %d 3600 600 86400 5\n@ IN NS ns.%s.\n",
			origin, zone, zone, serial, zone)
	}
	write := func(name string, body func(w *bufio.Writer)) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		body(w)
		return errors.Join(w.Flush(), f.Close())
	}
	each := func(f func(i int, name string)) {
		for i := range n {
			f(i, fmt.Sprintf("host-%d", i))
		}
		if moving != "" {
			f(n, moving)
		}
	}
	err := write(zone+".zone", func(w *bufio.Writer) {
		soa(w, zone)
		fmt.Fprintf(w, "ns IN A 127.0.0.1\n")
		each(func(i int, name string) { fmt.Fprintf(w, "%s IN A %v\n", name, machine(i, "").IP) })
	})
	if err != nil {
		return err
	}
	return write("1.10.in-addr.arpa.zone", func(w *bufio.Writer) {
		soa(w, "1.10.in-addr.arpa")
		each(func(i int, name string) {
			ip := machine(i, "").IP.As4()
			fmt.Fprintf(w, "%d.%d IN PTR %s.%s.\n", ip[3], ip[2], name, zone)
		})
	})
}
