package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/iana"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/sqlitestore"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/dhcpd"
	"github.com/pxelator/pxelator/dhcpd/dhcptest"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/syslogd"
	"github.com/pxelator/pxelator/syslogd/syslogtest"
	"github.com/pxelator/pxelator/tftpd"
	"github.com/pxelator/pxelator/web"
)

// TestBootProgressFromServers boots three machines through the real
// servers on loopback, recording into SQLite through a Batcher: the
// first gets an address from dhcpd as a PXE ROM and reads pxelinux, its
// configuration, kernel and initrd with curl over TFTP, then sends a
// syslog line; the second, an iPXE ROM, reads its script, kernel and
// initrd over HTTP; the third gets its address but its boot file is
// missing. The boot progress of each is what happened.
//
// The machines get loopback addresses (127.0.0.2 and on), so that their
// TFTP, HTTP and syslog traffic comes from their own address.
func TestBootProgressFromServers(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed: skipping the boot through real servers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	store := memstore.New()
	db, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec := audit.NewBatcher(db, nil)
	defer rec.Close(context.Background())

	root := t.TempDir()
	for name, content := range map[string]string{"pxelinux.0": "loader", "vmlinuz": "kernel", "initrd.gz": "initrd"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(strings.Repeat(content, 500)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := &boot.Files{Root: root, Store: store}
	httpSrv := httptest.NewServer(&boot.HTTPHandler{Files: files, Recorder: rec})
	defer httpSrv.Close()

	tftpConn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tftpSrv := &tftpd.Server{Handler: tftpd.OpenerHandler(files), Recorder: rec}
	go tftpSrv.ServePacket(tftpConn)
	defer tftpSrv.Shutdown(context.Background())

	sys := syslogtest.NewServer(&syslogd.Server{Store: store, Handler: syslogd.AuditHandler(rec, nil)})
	defer sys.Close()

	table := dhcpd.DefaultBootTable()
	table.IPXEScript = httpSrv.URL + "/boot.ipxe"
	h, err := dhcpd.NewStoreHandler(store, dhcpd.Config{
		ServerIP: netip.MustParseAddr("127.0.0.1"),
		First:    netip.MustParseAddr("127.0.0.2"), Last: netip.MustParseAddr("127.0.0.9"),
		Boot: table, Recorder: rec,
		Relays: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, // dhcptest relays its own requests
	})
	if err != nil {
		t.Fatal(err)
	}
	dhcpConn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	dhcpSrv := &dhcpd.Server{Handler: h, Recorder: rec}
	go dhcpSrv.ServePacket(dhcpConn)
	defer dhcpSrv.Shutdown(context.Background())

	// dora runs a DHCP exchange and returns the address and boot file.
	dora := func(mac net.HardwareAddr, ipxe bool) (netip.Addr, string) {
		t.Helper()
		mods := dhcptest.PXEFirmware(iana.INTEL_X86PC)
		if ipxe {
			mods = dhcptest.IPXEBIOS()
		}
		c, err := dhcptest.NewClient(dhcpConn.LocalAddr().String(), mac, mods...)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, ack, err := c.DORA(ctx)
		if err != nil {
			t.Fatalf("DHCP of %v: %v", mac, err)
		}
		ip, _ := netip.AddrFromSlice(ack.YourIPAddr.To4())
		return ip, ack.BootFileName
	}
	tftpGet := func(from netip.Addr, file string) error {
		out, err := exec.CommandContext(ctx, curl, "-sS", "--max-time", "20", "--interface", from.String(),
			"-o", os.DevNull, "tftp://"+tftpConn.LocalAddr().String()+"/"+file).CombinedOutput()
		if err != nil {
			return fmt.Errorf("curl %s: %v: %s", file, err, out)
		}
		return nil
	}
	httpFrom := func(from netip.Addr) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: from.AsSlice()}}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	}

	setProfile := func(mac net.HardwareAddr, host string) {
		t.Helper()
		m, err := store.ByMAC(ctx, mac)
		if err != nil {
			t.Fatal(err)
		}
		m.Hostname, m.Profile = host, "linux"
		if err := store.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}

	// A PXE ROM chains to pxelinux, which reads everything over TFTP.
	kiosk, ipxe, stuck := mustMAC("52:54:00:00:0c:01"), mustMAC("52:54:00:00:0c:02"), mustMAC("52:54:00:00:0c:03")
	ip, file := dora(kiosk, false)
	if file != "pxelinux.0" {
		t.Fatalf("boot file %q", file)
	}
	setProfile(kiosk, "kiosk-09")
	for _, f := range []string{file, "pxelinux.cfg/01-52-54-00-00-0c-01", "vmlinuz", "initrd.gz"} {
		if err := tftpGet(ip, f); err != nil {
			t.Fatal(err)
		}
	}
	// The booted system logs after its kernel and initrd came.
	waitEvents(t, rec, db, map[string]int64{"tftpd read": 4})
	sc, err := net.DialUDP("udp4", &net.UDPAddr{IP: ip.AsSlice()}, net.UDPAddrFromAddrPort(sys.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(sc, "<6>Nov 24 07:30:02 kiosk-09 kernel: Linux version 6.1.0-56-amd64")
	sc.Close()

	// An iPXE ROM gets its script at once and reads over HTTP; its
	// system sends no syslog.
	ip, script := dora(ipxe, true)
	if script != table.IPXEScript {
		t.Fatalf("iPXE script %q, want %q", script, table.IPXEScript)
	}
	setProfile(ipxe, "ws-09")
	hc := httpFrom(ip)
	for _, f := range []string{"boot.ipxe", "vmlinuz", "initrd.gz"} {
		resp, err := hc.Get(httpSrv.URL + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || f == "boot.ipxe" && !strings.Contains(string(b), "kernel ") {
			t.Fatalf("GET %s: %s %q", f, resp.Status, b)
		}
	}

	// The third one's boot file is missing.
	stuckIP, _ := dora(stuck, false)
	if err := os.Remove(filepath.Join(root, "pxelinux.0")); err != nil {
		t.Fatal(err)
	}
	if err := tftpGet(stuckIP, "pxelinux.0"); err == nil {
		t.Fatal("TFTP of a missing file succeeded")
	}

	waitEvents(t, rec, db, map[string]int64{"tftpd read": 5, "boot http": 3, "syslogd log": 1, "dhcpd ack": 3})

	srv := httptest.NewServer(&web.Handler{Store: store, Audit: db})
	defer srv.Close()
	progress := func(mac net.HardwareAddr) web.BootProgress {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/machines/" + mac.String() + "/boot")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b web.BootProgress
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != 200 {
			t.Fatalf("boot of %v: %s, %v", mac, resp.Status, err)
		}
		return b
	}

	check := func(mac net.HardwareAddr, reached string, want []string) web.BootProgress {
		t.Helper()
		b := progress(mac)
		if len(b.Steps) != 8 || b.Done != (reached == web.StepSyslog) || b.Reached != reached {
			t.Fatalf("boot of %v: %+v, want reached %s", mac, b, reached)
		}
		for i, w := range want {
			s := b.Steps[i]
			if !strings.Contains(s.Detail, w) || (w != "") == s.Time.IsZero() || s.Failed {
				t.Errorf("%v step %d: %+v, want %q", mac, i, s, w)
			}
			// Kernel and initrd come in either order.
			if i > 0 && s.Name != web.StepInitrd && !s.Time.IsZero() && s.Time.Before(b.Steps[i-1].Time) {
				t.Errorf("%v step %s at %v, before %s", mac, s.Name, s.Time, b.Steps[i-1].Name)
			}
		}
		if !b.Start.Equal(b.Steps[0].Time) {
			t.Errorf("%v: start %v, first DISCOVER %v", mac, b.Start, b.Steps[0].Time)
		}
		return b
	}
	check(kiosk, web.StepSyslog, []string{"Intel x86PC", "pxelinux.0", "pxelinux.0", "pxelinux.0 (TFTP)",
		"pxelinux.cfg/01-52-54-00-00-0c-01 (TFTP)", "vmlinuz (TFTP)", "initrd.gz (TFTP)", "Linux version 6.1.0-56-amd64"})
	check(ipxe, web.StepInitrd, []string{"Intel x86PC", "boot.ipxe", "boot.ipxe", "",
		"boot.ipxe (HTTP)", "vmlinuz (HTTP)", "initrd.gz (HTTP)", ""})
	b := progress(stuck)
	if b.Done || b.Reached != web.StepAck {
		t.Errorf("the stuck machine: reached %q, done %v", b.Reached, b.Done)
	}
	if s := b.Steps[3]; s.Name != web.StepBootFile || !s.Failed || !strings.Contains(s.Detail, "pxelinux.0 (TFTP): ") || !strings.Contains(s.Detail, "not found") {
		t.Errorf("the stuck machine's boot file: %+v", s)
	}

	// The overview tells the same.
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, w := range []string{">booted<", ">initrd<", ">DHCP ack<"} {
		if !strings.Contains(string(page), w) {
			t.Errorf("overview: no %s in\n%s", w, page)
		}
	}
}

// waitEvents waits until the audit holds want["package action"] entries
// of each: the servers record a request after answering it.
func waitEvents(t *testing.T, rec *audit.Batcher, db *sqlitestore.Store, want map[string]int64) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := rec.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		gs, err := db.Count(ctx, audit.CountQuery{By: []string{audit.FieldPackage, audit.FieldAction}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, g := range gs {
			got[g.Key[0]+" "+g.Key[1]] = g.Count
		}
		done := true
		for p, n := range want {
			done = done && got[p] == n
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events recorded: %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
