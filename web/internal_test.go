package web

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/sqlitestore"
)

// TestMachineEventsPaging: the events of a machine by MAC and by IP,
// paged with a small limit, come out newest first, each once, without
// the documents of another MAC at the same address.
func TestMachineEventsPaging(t *testing.T) {
	ctx := context.Background()
	db, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mac, _ := net.ParseMAC("52:54:00:00:0a:01")
	other, _ := net.ParseMAC("52:54:00:00:0a:99")
	m := pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.0.0.5")}
	t0 := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
	var docs []audit.Document
	var want []string
	for i := range 40 {
		d := audit.Document{Time: t0.Add(time.Duration(i/3) * time.Second), Entries: []audit.Entry{{Action: "x"}}}
		d.Entries[0].Time = d.Time
		switch i % 4 {
		case 0: // by MAC only
			d.Package, d.MAC = "amt", mac.String()
		case 1: // by IP only
			d.Package, d.IP = "tftpd", m.IP.String()
		case 2: // both
			d.Package, d.IP, d.MAC = "dhcpd", m.IP.String(), mac.String()
		case 3: // another machine at the address
			d.Package, d.IP, d.MAC = "boot", m.IP.String(), other.String()
		}
		d.ID = fmt.Sprintf("%s.%s.%02d", d.Time.Format("2006-01-02.15:04:05"), d.Package, i)
		docs = append(docs, d)
		if i%4 != 3 {
			want = append(want, d.ID)
		}
	}
	if err := db.Insert(ctx, docs); err != nil {
		t.Fatal(err)
	}
	// Newest first; ids break ties, in reverse (as the backends order).
	slices.SortFunc(want, func(a, b string) int { return strings.Compare(b, a) })
	h := &Handler{Audit: db}
	for _, limit := range []int{1, 3, 7, 30, 100} {
		var got []string
		q := audit.EventsQuery{Limit: limit}
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatalf("limit %d: does not end", limit)
			}
			p, err := h.machineEvents(ctx, m, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Documents) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(p.Documents))
			}
			for _, d := range p.Documents {
				got = append(got, d.ID)
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d:\n got %q\nwant %q", limit, got, want)
		}
	}
}

func at(s int) time.Time { return time.Date(2026, 11, 24, 7, 0, s, 0, time.UTC) }

func TestProgress(t *testing.T) {
	dhcp := func(s int, action string, f map[string]any) entry {
		return entry{"dhcpd", audit.Entry{Time: at(s), Action: action, Fields: f}}
	}
	tftp := func(s int, file, outcome string) entry {
		return entry{"tftpd", audit.Entry{Time: at(s), Action: "read", Fields: map[string]any{"file": file, "outcome": outcome}}}
	}
	tests := []struct {
		name    string
		es      []entry
		reached string
		failed  string // a step that failed
		missing []string
	}{
		{"nak", []entry{dhcp(0, "discover", nil), dhcp(1, "offer", nil), dhcp(2, "request", nil), dhcp(3, "nak", nil)},
			StepOffer, StepAck, nil},
		{"pxelinux tries names", []entry{dhcp(0, "discover", nil), dhcp(1, "offer", nil), dhcp(2, "ack", nil),
			tftp(3, "pxelinux.0", "ok"), tftp(4, "ldlinux.c32", "ok"),
			tftp(5, "pxelinux.cfg/01-52-54-00-00-0a-01", "refused"), tftp(6, "pxelinux.cfg/0A00", "refused"),
			tftp(7, "pxelinux.cfg/default", "ok"), tftp(8, "vmlinuz", "ok"), tftp(9, "initrd.img", "ok"),
			{"syslogd", audit.Entry{Time: at(30), Action: "log", Fields: map[string]any{"msg": "hi"}}}},
			StepSyslog, "", nil},
		{"config missing", []entry{dhcp(0, "discover", nil), dhcp(1, "offer", nil), dhcp(2, "ack", nil),
			tftp(3, "pxelinux.0", "ok"), tftp(5, "pxelinux.cfg/default", "refused")},
			StepBootFile, StepConfig, []string{StepKernel, StepInitrd, StepSyslog}},
		{"kernel over HTTP fails", []entry{dhcp(0, "discover", nil), dhcp(1, "offer", nil), dhcp(2, "ack", nil),
			{"boot", audit.Entry{Time: at(3), Action: "http", Fields: map[string]any{"file": "boot.ipxe", "status": 200.0}}},
			{"boot", audit.Entry{Time: at(4), Action: "http", Fields: map[string]any{"file": "vmlinuz", "status": 404.0}}}},
			StepConfig, StepKernel, []string{StepBootFile, StepInitrd, StepSyslog}},
		{"bootp", []entry{dhcp(0, "bootrequest", nil), dhcp(1, "bootreply", nil)},
			StepOffer, "", []string{StepAck}},
		{"only a discover", []entry{dhcp(0, "discover", nil)}, StepDiscover, "", []string{StepOffer}},
		{"garbage fields", []entry{dhcp(0, "discover", map[string]any{"arch": 7.0}),
			{"tftpd", audit.Entry{Time: at(1), Action: "read", Fields: map[string]any{"file": []any{1}, "outcome": nil}}},
			{"boot", audit.Entry{Time: at(2), Action: "http", Fields: map[string]any{"status": "200"}}}},
			StepDiscover, "", []string{StepOffer}},
	}
	for _, tt := range tests {
		b := progress(at(0), tt.es)
		if b.Reached != tt.reached || len(b.Steps) != 8 {
			t.Errorf("%s: reached %q, want %q: %+v", tt.name, b.Reached, tt.reached, b.Steps)
		}
		for _, s := range b.Steps {
			if s.Failed != (s.Name == tt.failed) {
				t.Errorf("%s: step %s failed=%v (%s)", tt.name, s.Name, s.Failed, s.Detail)
			}
			if slices.Contains(tt.missing, s.Name) && !s.Time.IsZero() {
				t.Errorf("%s: step %s reached", tt.name, s.Name)
			}
		}
		if b.Done != (tt.reached == StepSyslog) {
			t.Errorf("%s: done %v", tt.name, b.Done)
		}
	}
}

func TestFileKind(t *testing.T) {
	for name, want := range map[string]string{
		"pxelinux.0": StepBootFile, "undionly.kpxe": StepBootFile, "ldlinux.c32": StepBootFile, "snponly.efi": StepBootFile,
		"boot.ipxe": StepConfig, "52-54-00-00-0a-01.ipxe": StepConfig, "pxelinux.cfg/default": StepConfig,
		"bios/pxelinux.cfg/C0A80A05": StepConfig, "grub.cfg-01-52-54-00-00-0a-01": StepConfig, "grub/grub.cfg": StepConfig,
		"vmlinuz": StepKernel, "debian/vmlinuz-6.1.0-56-amd64": StepKernel, "linux": StepKernel, "bzImage": StepKernel,
		"initrd.gz": StepInitrd, "debian/initrd.img-6.1.0": StepInitrd, "initramfs-linux.img": StepInitrd,
	} {
		if got := fileKind(name); got != want {
			t.Errorf("fileKind(%q) = %q, want %q", name, got, want)
		}
	}
}

// wellFormed checks that an SVG is XML.
func wellFormed(t *testing.T, name, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, s)
		}
	}
}

func TestPlots(t *testing.T) {
	from, to := at(0), at(0).Add(24*time.Hour)
	var ss []sample
	for i := range 100 {
		ss = append(ss, sample{t: from.Add(time.Duration(i) * 10 * time.Minute), ms: float64(i%9) / 3, lost: i%17 == 0})
	}
	for name, svg := range map[string]string{
		"rtt":       string(rttPlot(ss, from, to, time.UTC)),
		"rtt empty": string(rttPlot(nil, from, to, time.UTC)),
		"boots":     string(bootPlot(make([]int, bootBuckets), []int{bootBuckets - 1: 3}, from, to, time.UTC)),
		"bars": string(barChart(`power <script>alert(1)</script> & "x"`, []groupRow{
			{Key: []string{"10.0.0.5", `on<"&>`}, Count: 7}, {Key: []string{"10.0.0.6", "off"}, Count: 2}}, false, "")),
		"bars avg":   string(barChart("rtt", []groupRow{{Key: []string{"10.0.0.5"}, Count: 7, Avg: 0.4}}, true, " ms")),
		"bars empty": string(barChart("none", nil, false, "")),
	} {
		wellFormed(t, name, svg)
		if strings.Contains(svg, "<script>") || strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
			t.Errorf("%s: %s", name, svg)
		}
	}
	if n := strings.Count(string(rttPlot(ss, from, to, time.UTC)), `class="lost"`); n != 6 {
		t.Errorf("lost pings drawn: %d, want 6", n)
	}
}

func TestNiceCeil(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, 0.3: 0.5, 1: 1, 1.2: 2, 3: 5, 7: 10, 42: 50, 999: 1000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", v, got, want)
		}
	}
}
