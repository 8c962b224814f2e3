package boot_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/internal/syncbuf"
)

// linesOf returns the lines written to b.
func linesOf(b *syncbuf.Buffer) []string {
	return strings.Split(strings.TrimSpace(b.String()), "\n")
}

// TestMissingFileLog: a file the root lacks is one log line naming it and
// the Debian package that ships it, at most once per file in 10 minutes;
// the per-machine names boot loaders try in turn are never logged.
func TestMissingFileLog(t *testing.T) {
	var buf syncbuf.Buffer
	c := &clock{t: time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)}
	f := &boot.Files{Root: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&buf, nil)), Time: c.now}
	ctx := context.Background()
	open := func(name string) {
		if file, err := f.Open(ctx, boot.Request{Name: name, Client: client5}); err == nil {
			file.Close()
			t.Fatalf("%s: found", name)
		}
	}
	for range 100 { // a loop of a client that gets no file
		open("ldlinux.c32")
		open("/ldlinux.c32")
		open("pxelinux.cfg/01-52-54-00-12-34-56")
		open("pxelinux.cfg/0A000005")
		open("pxelinux.cfg/0A")
		open("grub.cfg-01-52-54-00-12-34-56")
		open("vmlinuz")
	}
	lines := linesOf(&buf)
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2 (ldlinux.c32 and vmlinuz):\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if l := lines[0]; !strings.Contains(l, "file=ldlinux.c32") || !strings.Contains(l, "package=syslinux-common") ||
		!strings.Contains(l, "installs=/usr/lib/syslinux/modules/bios/ldlinux.c32") {
		t.Errorf("line for ldlinux.c32: %s", l)
	}
	if l := lines[1]; !strings.Contains(l, "file=vmlinuz") || strings.Contains(l, "package=") {
		t.Errorf("line for vmlinuz: %s", l)
	}
	c.add(10 * time.Minute)
	open("ldlinux.c32")
	if lines := linesOf(&buf); len(lines) != 3 {
		t.Errorf("after 10 minutes: %d lines, want 3", len(lines))
	}
}

// TestMissingFileLogBounded: random names cost a bounded number of lines
// and a bounded memory; what was not logged is counted in the next line.
func TestMissingFileLogBounded(t *testing.T) {
	var buf syncbuf.Buffer
	c := &clock{t: time.Date(2026, 12, 1, 7, 30, 0, 0, time.UTC)}
	f := &boot.Files{Root: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&buf, nil)), Time: c.now}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				f.Open(context.Background(), boot.Request{Name: fmt.Sprintf("random-%d-%d", w, i)})
			}
		})
	}
	wg.Wait()
	if n := len(linesOf(&buf)); n != 1024 {
		t.Errorf("%d lines for 2000 names, want 1024", n)
	}
	c.add(10 * time.Minute)
	f.Open(context.Background(), boot.Request{Name: "after"})
	lines := linesOf(&buf)
	if last := lines[len(lines)-1]; !strings.Contains(last, "file=after") || !strings.Contains(last, "not_logged=976") {
		t.Errorf("the next line: %s", last)
	}
}

// TestLoaders: every file a loader needs is a loader too, names are
// unique, and LoaderFor finds a name under a directory.
func TestLoaders(t *testing.T) {
	names := map[string]bool{}
	for _, l := range boot.Loaders() {
		if names[l.Name] {
			t.Errorf("%s twice", l.Name)
		}
		names[l.Name] = true
		if l.Package == "" || !strings.HasPrefix(l.Path, "/usr/") {
			t.Errorf("%s: package %q, path %q", l.Name, l.Package, l.Path)
		}
	}
	for _, l := range boot.Loaders() {
		for _, n := range l.Needs {
			if !names[n] {
				t.Errorf("%s needs %s, which is not a loader", l.Name, n)
			}
		}
	}
	if l, ok := boot.LoaderFor("bios/pxelinux.0"); !ok || l.Package != "pxelinux" {
		t.Errorf("LoaderFor(bios/pxelinux.0) = %+v, %v", l, ok)
	}
	if _, ok := boot.LoaderFor("vmlinuz"); ok {
		t.Errorf("LoaderFor(vmlinuz) found one")
	}
}
