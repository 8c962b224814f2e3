package boot_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxelator/pxelator/boot"
)

// clock is a settable time for Files.Time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestOnce: a machine of profile once boots its once.profile for every
// request of one boot (the window), is switched to local in the store at
// the first, and boots local after the window.
func TestOnce(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)
	type step struct {
		after         time.Duration // since the previous step
		name, contain string
	}
	tests := []struct {
		name     string
		attrs    map[string]string
		steps    []step
		switched bool // whether the store ends with profile local
	}{
		{
			name:  "iPXE, a retry and the script again within the window, then the next boot",
			attrs: map[string]string{"once.profile": "linux", "once.window": "30s"},
			steps: []step{
				{0, "boot.ipxe", "kernel http://10.0.0.1/boot/vmlinuz"},
				{5 * time.Second, "boot.ipxe", "kernel http://10.0.0.1/boot/vmlinuz"}, // a DHCP retry, iPXE's second DHCP
				{20 * time.Second, "pxelinux.cfg/01-52-54-00-12-34-56", "KERNEL vmlinuz"},
				{10 * time.Second, "boot.ipxe", "boots from the local disk"}, // 35 s: the next boot
				{time.Hour, "pxelinux.cfg/01-52-54-00-12-34-56", "LOCALBOOT 0"},
			},
			switched: true,
		},
		{
			name:  "the default window",
			attrs: map[string]string{"once.profile": "rescue"},
			steps: []step{
				{0, "pxelinux.cfg/01-52-54-00-12-34-56", "rescue/enable=true"},
				{boot.DefaultOnceWindow - time.Second, "boot.ipxe", "rescue/enable=true"},
				{2 * time.Second, "boot.ipxe", "boots from the local disk"},
			},
			switched: true,
		},
		{
			name:  "a profile without boot.ipxe: iPXE chains pxelinux, which gets the profile in the same boot",
			attrs: map[string]string{"once.profile": "tftp"},
			steps: []step{
				{0, "boot.ipxe", "chain tftp://10.0.0.1/pxelinux.0"},
				{3 * time.Second, "pxelinux.cfg/01-52-54-00-12-34-56", "DEFAULT tftp"},
				{10 * time.Minute, "pxelinux.cfg/01-52-54-00-12-34-56", "LOCALBOOT 0"},
			},
			switched: true,
		},
		{
			name:  "no once.profile: not switched, the once profile says so",
			attrs: nil,
			steps: []step{
				{0, "boot.ipxe", "once.profile names no profile"},
				{time.Hour, "pxelinux.cfg/01-52-54-00-12-34-56", "LOCALBOOT 0"},
			},
		},
		{
			name:  "once.profile once is none",
			attrs: map[string]string{"once.profile": "once"},
			steps: []step{{0, "boot.ipxe", "once.profile names no profile"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: t0}
			f := defaultRoot(t, boot.ProfileOnce)
			f.Time = c.now
			write(t, filepath.Join(f.Root, "pxelinux.0"), "x")
			write(t, filepath.Join(f.Root, "ldlinux.c32"), "x")
			write(t, filepath.Join(f.Profiles, "tftp", "pxelinux.cfg"), "DEFAULT tftp\n")
			ctx := context.Background()
			m, err := f.Store.ByMAC(ctx, mustMAC("52:54:00:12:34:56"))
			must(t, err)
			for k, v := range tt.attrs {
				m.Set(k, v)
			}
			must(t, f.Store.Put(ctx, m))
			for i, s := range tt.steps {
				c.add(s.after)
				got, _, err := read(t, f, boot.Request{Name: s.name, Client: client5, Server: server5})
				if err != nil || !strings.Contains(got, s.contain) {
					t.Errorf("step %d, %s at +%v: %q, %v; want %q", i, s.name, c.now().Sub(t0), got, err, s.contain)
				}
			}
			m, err = f.Store.ByMAC(ctx, m.MAC)
			must(t, err)
			switch {
			case tt.switched && (m.Profile != boot.ProfileLocal || m.Get(boot.AttrOnceBooted) != t0.Format(time.RFC3339)):
				t.Errorf("after the boot: profile %q, once.booted %q; want local, %s", m.Profile, m.Get(boot.AttrOnceBooted), t0.Format(time.RFC3339))
			case !tt.switched && (m.Profile != boot.ProfileOnce || m.Get(boot.AttrOnceBooted) != ""):
				t.Errorf("switched without a once.profile: %v", m)
			}
		})
	}
}

// TestOnceAgain: setting the profile to once again boots once more.
func TestOnceAgain(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)}
	f := defaultRoot(t, boot.ProfileOnce)
	f.Time = c.now
	ctx := context.Background()
	m, _ := f.Store.ByMAC(ctx, mustMAC("52:54:00:12:34:56"))
	m.Set(boot.AttrOnceProfile, "linux")
	must(t, f.Store.Put(ctx, m))
	r := boot.Request{Name: "boot.ipxe", Client: client5, Server: server5}
	for round := range 2 {
		if got, _, err := read(t, f, r); err != nil || !strings.Contains(got, "vmlinuz") {
			t.Fatalf("round %d: %q, %v", round, got, err)
		}
		c.add(time.Hour)
		if got, _, err := read(t, f, r); err != nil || !strings.Contains(got, "local disk") {
			t.Fatalf("round %d after the window: %q, %v", round, got, err)
		}
		m, _ = f.Store.ByMAC(ctx, m.MAC)
		m.Profile = boot.ProfileOnce
		must(t, f.Store.Put(ctx, m))
	}
	m, _ = f.Store.ByMAC(ctx, m.MAC)
	if want := c.now().Add(-time.Hour).UTC().Format(time.RFC3339); m.Get(boot.AttrOnceBooted) != want {
		t.Errorf("once.booted %q, want the second switch %s", m.Get(boot.AttrOnceBooted), want)
	}
}
