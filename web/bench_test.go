package web_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/sqlitestore"
	"github.com/pxelator/pxelator/memstore"
	"github.com/pxelator/pxelator/web"
)

const benchMachines = 10000

// benchSegment returns a store of n machines, a monitor that sees them
// all, and an SQLite audit store in which each got an address (DHCP
// DISCOVER, OFFER, REQUEST, ACK), read its boot file over TFTP and
// answered a ping.
func benchSegment(b *testing.B, n int) (pxelator.Store, pings, *sqlitestore.Store) {
	b.Helper()
	ctx := context.Background()
	store := memstore.New()
	mon := pings{}
	db, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	rec := audit.NewBatcher(db, nil)
	now := time.Now()
	for i := range n {
		mac := net.HardwareAddr{0x52, 0x54, 0x00, 0x01, byte(i >> 8), byte(i)}
		ip := netip.AddrFrom4([4]byte{10, 77, byte(i >> 8), byte(i)})
		m := pxelator.Machine{MAC: mac, IP: ip, Hostname: fmt.Sprintf("ws-%05d", i), Profile: "linux"}
		m.Set("group", fmt.Sprintf("room-%d", i%40))
		if err := store.Put(ctx, m); err != nil {
			b.Fatal(err)
		}
		mon[mac.String()] = web.Status{Up: i%10 != 0, Since: now.Add(-time.Duration(i) * time.Second), RTT: time.Duration(200+i%500) * time.Microsecond}
		at := now.Add(-time.Duration(i) * time.Second)
		for j, a := range []string{"discover", "offer", "request", "ack"} {
			rec.Record(ctx, audit.Event{Time: at.Add(time.Duration(j) * time.Millisecond), Package: "dhcpd", Action: a, IP: ip, MAC: mac, Ident: mac.String()})
		}
		rec.Record(ctx, audit.Event{Time: at.Add(time.Second), Package: "tftpd", Action: "read", IP: ip, Fields: map[string]any{"file": "pxelinux.0", "outcome": "ok"}})
		rec.Record(ctx, audit.Event{Time: at.Add(2 * time.Second), Package: "ping", Action: "reply", IP: ip, MAC: mac, Fields: map[string]any{"rtt": 0.4}})
	}
	if err := rec.Close(ctx); err != nil {
		b.Fatal(err)
	}
	return store, mon, db
}

// BenchmarkOverview renders the overview of 10,000 machines, a page of
// 100: with the store and monitor only, with the SQLite audit (last seen,
// power, boot progress of the 100 shown), filtered by text and sorted by
// status.
func BenchmarkOverview(b *testing.B) {
	store, mon, db := benchSegment(b, benchMachines)
	for _, bc := range []struct {
		name  string
		h     *web.Handler
		query string
	}{
		{"store", &web.Handler{Store: store, Monitor: mon, Schedule: kiosks{}}, "/"},
		{"store/filter", &web.Handler{Store: store, Monitor: mon, Schedule: kiosks{}}, "/?q=room-7"},
		{"store/sort-status", &web.Handler{Store: store, Monitor: mon, Schedule: kiosks{}}, "/?sort=status"},
		{"audit", &web.Handler{Store: store, Monitor: mon, Schedule: kiosks{}, Audit: db}, "/"},
		{"audit/last-page", &web.Handler{Store: store, Monitor: mon, Schedule: kiosks{}, Audit: db}, "/?page=100"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.query, nil)
			req.RemoteAddr = "127.0.0.1:4000"
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				bc.h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", bc.query, w.Code, w.Body)
				}
			}
		})
	}
}
