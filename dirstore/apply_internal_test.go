package dirstore

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/pxelator/pxelator"
)

// TestApplierPendingClears: once a change is applied, no directory it
// touched counts as pending, whatever the change: the watcher ignores
// edits to a pending directory.
func TestApplierPendingClears(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), &Options{Server: netip.MustParseAddr("10.77.0.1"), NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mac, _ := net.ParseMAC("52:54:00:00:00:01")
	m := pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.77.0.9")}
	steps := []struct {
		name string
		do   func() error
	}{
		{"new", func() error { return s.Put(ctx, m) }},
		{"update in place", func() error { m.Profile = "rescue"; return s.Put(ctx, m) }},
		{"move", func() error { m.IP = netip.MustParseAddr("10.77.0.10"); return s.Put(ctx, m) }},
		{"delete", func() error { return s.Delete(ctx, mac) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatalf("%s: Flush: %v", st.name, err)
		}
		for _, d := range []string{"10.77.0.1/10.77.0.9", "10.77.0.1/10.77.0.10"} {
			if s.applier.pending(d) {
				t.Errorf("after %s, %s is still pending", st.name, d)
			}
		}
	}
}
