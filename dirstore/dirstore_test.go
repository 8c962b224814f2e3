package dirstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/dirstore"
	"github.com/pxelator/pxelator/internal/syncbuf"
	"github.com/pxelator/pxelator/pxelatortest"
)

func openDirLog(t *testing.T, dir string, log *syncbuf.Buffer) *dirstore.Store {
	t.Helper()
	opts := &dirstore.Options{Server: pxelatortest.Server()}
	if log != nil {
		opts.Logger = slog.New(slog.NewTextHandler(log, nil))
	}
	s, err := dirstore.Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openDir(t *testing.T, dir string) *dirstore.Store { return openDirLog(t, dir, nil) }

func machineDir(root string, m pxelator.Machine) string {
	return filepath.Join(root, m.Server.String(), m.IP.String())
}

func writeValue(t *testing.T, path, value string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(value+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeMachine writes m's MAC, host name and profile into dir by hand.
func writeMachine(t *testing.T, dir string, m pxelator.Machine) {
	t.Helper()
	writeValue(t, filepath.Join(dir, "mac"), m.MAC.String())
	writeValue(t, filepath.Join(dir, "hostname"), m.Hostname)
	writeValue(t, filepath.Join(dir, "profile"), m.Profile)
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ pxelator.Store = (*dirstore.Store)(nil)

func TestConformance(t *testing.T) {
	pxelatortest.TestStore(t, func(t *testing.T) pxelator.Store { return openDir(t, t.TempDir()) })
}

func TestLayout(t *testing.T) {
	root := t.TempDir()
	s := openDir(t, root)
	m := pxelatortest.NewMachine(0x0a3d)
	m.Hostname = "kiosk-01"
	m.Profile = "debian"
	m.Set("kiosk.on", "07:30")
	m.SetSecret("amt.password", "hunter2")
	if err := s.Put(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	dir := machineDir(root, m)
	for key, want := range map[string]string{
		"mac":          "52:54:00:00:0a:3d\n",
		"hostname":     "kiosk-01\n",
		"profile":      "debian\n",
		"kiosk.on":     "07:30\n",
		"amt.password": "hunter2\n",
	} {
		b, err := os.ReadFile(filepath.Join(dir, key))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", key, b, err, want)
		}
	}
	for key, want := range map[string]os.FileMode{"amt.password": 0o600, "kiosk.on": 0o644} {
		if fi, err := os.Stat(filepath.Join(dir, key)); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != want {
			t.Errorf("mode of %s = %v; want %v", key, fi.Mode().Perm(), want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, ".gitignore")); err != nil || !strings.Contains(string(b), ".journal") {
		t.Errorf("root .gitignore = %q, %v; want the journal kept out of git", b, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("server directory holds %d entries, want only the machine: %v", len(entries), entries)
	}
	// A new store reads the same machine back, secret and all.
	again := openDir(t, root)
	pxelatortest.Check(t, again, m)
	if a, _ := mustGet(t, again, m.MAC).Attr("amt.password"); !a.Secret {
		t.Errorf("secret lost its flag on reload")
	}
}

func TestExternalEdits(t *testing.T) {
	root := t.TempDir()
	var log syncbuf.Buffer
	s := openDirLog(t, root, &log)
	ctx := context.Background()
	m := pxelatortest.NewMachine(1)
	if err := s.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	dir := machineDir(root, m)

	// A person renames the machine with echo.
	writeValue(t, filepath.Join(dir, "hostname"), "kiosk-01")
	eventually(t, "the new hostname", func() bool {
		got, err := s.ByHostname(ctx, "kiosk-01")
		return err == nil && got.IP == m.IP
	})
	if _, err := s.ByHostname(ctx, m.Hostname); !errors.Is(err, pxelator.ErrNotFound) {
		t.Errorf("old hostname still answers: %v", err)
	}

	// git pull adds a machine under a new server directory.
	n := pxelatortest.NewMachine(2)
	n.Server = netip.MustParseAddr("10.88.0.1")
	writeValue(t, filepath.Join(machineDir(root, n), "hostname"), n.Hostname)
	writeValue(t, filepath.Join(machineDir(root, n), "mac"), n.MAC.String())
	eventually(t, "the pulled machine", func() bool {
		got, err := s.ByMAC(ctx, n.MAC)
		return err == nil && got.Equal(n)
	})

	// A bad MAC is reported with the file's path and skipped.
	writeValue(t, filepath.Join(dir, "mac"), "not-a-mac")
	eventually(t, "the bad machine to be skipped", func() bool {
		_, err := s.ByIP(ctx, m.IP)
		return errors.Is(err, pxelator.ErrNotFound)
	})
	eventually(t, "a report naming the file", func() bool {
		return strings.Contains(log.String(), filepath.Join(dir, "mac"))
	})
	// Its address is not handed to another machine while the directory is there.
	o := pxelatortest.NewMachine(3)
	o.IP = m.IP
	if err := s.Put(ctx, o); !errors.Is(err, pxelator.ErrConflict) {
		t.Errorf("Put onto a broken directory: err = %v, want ErrConflict", err)
	}

	// A second machine claiming n's MAC is skipped; n keeps it.
	dup := pxelatortest.NewMachine(4)
	writeValue(t, filepath.Join(machineDir(root, dup), "mac"), n.MAC.String())
	eventually(t, "a report of the duplicate MAC", func() bool {
		return strings.Contains(log.String(), machineDir(root, dup))
	})
	if got, err := s.ByMAC(ctx, n.MAC); err != nil || got.IP != n.IP {
		t.Errorf("ByMAC after a duplicate = %v, %v; want the first machine", got, err)
	}

	// Removing a directory by hand removes the machine.
	if err := os.RemoveAll(machineDir(root, n)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the removed machine to go", func() bool {
		_, err := s.ByMAC(ctx, n.MAC)
		return errors.Is(err, pxelator.ErrNotFound)
	})
}

// TestEditAfterOpen edits a machine that was on disk before the
// store opened.
func TestEditAfterOpen(t *testing.T) {
	root := t.TempDir()
	m := pxelatortest.NewMachine(1)
	dir := machineDir(root, m)
	writeValue(t, filepath.Join(dir, "mac"), m.MAC.String())
	s := openDir(t, root)
	writeValue(t, filepath.Join(dir, "profile"), "rescue")
	eventually(t, "the edited profile", func() bool {
		got, err := s.ByMAC(context.Background(), m.MAC)
		return err == nil && got.Profile == "rescue"
	})
}

func TestReloadWithoutWatch(t *testing.T) {
	root := t.TempDir()
	ctx := context.Background()
	s, err := dirstore.Open(ctx, root, &dirstore.Options{Server: pxelatortest.Server(), NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	m := pxelatortest.NewMachine(1)
	if err := s.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	writeValue(t, filepath.Join(machineDir(root, m), "profile"), "rescue")
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, m.MAC); got.Profile != "rescue" {
		t.Errorf("profile after Reload = %q, want rescue", got.Profile)
	}
}

// TestCrash lays out what a crash at each step of a write leaves
// on disk and checks that opening the store gives the old machine or the
// new one, whole.
func TestCrash(t *testing.T) {
	oldM := pxelatortest.NewMachine(1)
	oldM.Profile = "old"
	newM := oldM
	newM.Profile = "new"
	moved := oldM
	moved.IP = netip.MustParseAddr("10.77.200.1")
	moved.Profile = "new"
	type step struct {
		dir     string // hidden name relative to the server directory, or "" for the machine
		machine pxelator.Machine
	}
	tests := []struct {
		name  string
		on    []step
		wants pxelator.Machine
	}{
		{"half-written temp dir", []step{{"", oldM}, {".10.77.0.1.tmp.aa", newM}}, oldM},
		{"old set aside, new not in place", []step{{".10.77.0.1.old.bb", oldM}, {".10.77.0.1.tmp.aa", newM}}, oldM},
		{"new in place, old not removed", []step{{"", newM}, {".10.77.0.1.old.bb", oldM}}, newM},
		{"moved, old not removed", []step{{"", moved}, {".10.77.0.1.old.bb", oldM}}, moved},
		{"delete interrupted", []step{{".10.77.0.1.del.cc", oldM}}, pxelator.Machine{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, st := range tt.on {
				dir := machineDir(root, st.machine)
				if st.dir != "" {
					dir = filepath.Join(root, st.machine.Server.String(), st.dir)
				}
				writeMachine(t, dir, st.machine)
			}
			s := openDir(t, root)
			list, _ := s.List(context.Background())
			if tt.wants.MAC == nil {
				if len(list) != 0 {
					t.Fatalf("machines after an interrupted delete: %v", list)
				}
			} else if len(list) != 1 || !list[0].Equal(tt.wants) {
				t.Fatalf("machines after the crash = %v, want %v", list, tt.wants)
			}
			entries, _ := os.ReadDir(filepath.Join(root, oldM.Server.String()))
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left over after open: %s", e.Name())
				}
			}
		})
	}
}

func TestHandEditedGarbage(t *testing.T) {
	root := t.TempDir()
	srv := filepath.Join(root, "10.77.0.1")
	writeValue(t, filepath.Join(srv, "10.77.0.5", "mac"), "52:54:00:00:00:05")
	writeValue(t, filepath.Join(srv, "10.77.0.5", "hostname"), "bad host name")
	writeValue(t, filepath.Join(srv, "not-an-ip", "mac"), "52:54:00:00:00:06")
	writeValue(t, filepath.Join(srv, "10.77.0.7", "hostname"), "no-mac")
	writeValue(t, filepath.Join(root, "README"), "a file at the top")
	writeValue(t, filepath.Join(srv, "10.77.0.8", "mac"), "52:54:00:00:00:08")
	writeValue(t, filepath.Join(srv, "10.77.0.8", "notes~"), "an editor backup")
	writeValue(t, filepath.Join(srv, "10.77.0.8", "big"), strings.Repeat("x", 1<<20))
	var log syncbuf.Buffer
	s := openDirLog(t, root, &log)
	list, _ := s.List(context.Background())
	if len(list) != 1 || list[0].IP.String() != "10.77.0.8" {
		t.Fatalf("machines = %v, want only 10.77.0.8", list)
	}
	if len(list[0].Get("big")) > 4096 {
		t.Errorf("an oversized value file was read whole: %d bytes", len(list[0].Get("big")))
	}
	for _, p := range []string{"10.77.0.5", "10.77.0.7"} {
		if !strings.Contains(log.String(), filepath.Join(srv, p)) {
			t.Errorf("no report naming %s in:\n%s", p, log.String())
		}
	}
}

// mustGet returns the machine with mac or fails t.
func mustGet(t *testing.T, s pxelator.Store, mac net.HardwareAddr) pxelator.Machine {
	t.Helper()
	m, err := s.ByMAC(context.Background(), mac)
	if err != nil {
		t.Fatalf("ByMAC(%v): %v", mac, err)
	}
	return m
}

// TestJournalReplay simulates crashes that lost the unsynced
// directory writes behind the journal: the next open must make the disk
// say what the journal says, ignore a torn last record, and never write
// outside the root for a record that names a path out of it.
func TestJournalReplay(t *testing.T) {
	ctx := context.Background()
	m := pxelatortest.NewMachine(1)
	m.Profile = "old"
	updated := m
	updated.Profile = "new"
	moved := updated
	moved.IP = netip.MustParseAddr("10.77.200.1")
	put := func(ms ...pxelator.Machine) func(*testing.T, pxelator.Store) {
		return func(t *testing.T, s pxelator.Store) {
			for _, m := range ms {
				if err := s.Put(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	tests := []struct {
		name   string
		ops    func(*testing.T, pxelator.Store)
		damage func(root string) // what the crash lost
		torn   string            // appended to the journal
		split  bool              // a checkpoint set the first change aside
		want   []pxelator.Machine
		log    string
	}{
		{"new machine lost", put(m), func(root string) { os.RemoveAll(machineDir(root, m)) }, "", false, []pxelator.Machine{m}, "replayed"},
		{"update lost", put(m, updated), func(root string) { writeValue(t, filepath.Join(machineDir(root, m), "profile"), "old") },
			"", false, []pxelator.Machine{updated}, "replayed"},
		{"move lost", put(m, moved), func(root string) { os.RemoveAll(machineDir(root, moved)); writeMachine(t, machineDir(root, m), m) },
			"", false, []pxelator.Machine{moved}, "replayed"},
		{"checkpoint interrupted", put(m, updated), func(root string) { os.RemoveAll(machineDir(root, m)) }, "", true,
			[]pxelator.Machine{updated}, "replayed"},
		{"delete lost", func(t *testing.T, s pxelator.Store) {
			put(m)(t, s)
			if err := s.Delete(ctx, m.MAC); err != nil {
				t.Fatal(err)
			}
		}, func(root string) { writeMachine(t, machineDir(root, m), m) }, "", false, nil, "replayed"},
		{"torn last record", put(m), func(root string) { os.RemoveAll(machineDir(root, m)) },
			`{"dir":"10.77.0.1/10.77.0.9","files":[{"k":"mac","v":"52:54`, false, []pxelator.Machine{m}, "torn end"},
		{"record out of the root", nil, nil,
			`{"dir":"../../escaped","files":[{"k":"mac","v":"52:54:00:00:00:09"}]}` + "\n", false, nil, "torn end"},
		{"record out of the root through an IPv6 zone", nil, nil,
			`{"dir":"10.77.0.1/fe80::1%../../../../../escaped","files":[{"k":"mac","v":"52:54:00:00:00:09"}]}` + "\n", false, nil, "torn end"},
		{"delete out of the root through an IPv6 zone", nil, nil,
			`{"dir":"10.77.0.1/fe80::1%../../../../../victim"}` + "\n", false, nil, "torn end"},
		{"move out of the root through an IPv6 zone", nil, nil,
			`{"dir":"10.77.0.1/10.77.0.9","old":"10.77.0.1/fe80::1%../../../../../victim","files":[{"k":"mac","v":"52:54:00:00:00:09"}]}` + "\n",
			false, nil, "torn end"},
		{"IPv6 server directory", nil, nil,
			`{"dir":"fe80::1%eth0/10.77.0.9","files":[{"k":"mac","v":"52:54:00:00:00:09"}]}` + "\n", false, nil, "torn end"},
		{"IPv6 machine directory", nil, nil,
			`{"dir":"10.77.0.1/::ffff:10.77.0.9","files":[{"k":"mac","v":"52:54:00:00:00:09"}]}` + "\n", false, nil, "torn end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			root := filepath.Join(base, "a", "conf")
			s1, err := dirstore.Open(ctx, root, &dirstore.Options{Server: pxelatortest.Server(), NoWatch: true})
			if err != nil {
				t.Fatal(err)
			}
			if tt.ops != nil {
				tt.ops(t, s1)
			}
			journal, err := os.ReadFile(filepath.Join(root, ".journal"))
			if err != nil {
				t.Fatal(err)
			}
			if err := s1.Close(); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(filepath.Join(root, ".journal")); err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o600 {
				t.Fatalf("journal after Close: %v, %v; want empty, mode 0600", fi, err)
			}
			// The crash: the journal as it was, the directories without
			// what was not synced.
			if tt.split {
				first, rest, _ := bytes.Cut(journal, []byte("\n"))
				if err := os.WriteFile(filepath.Join(root, ".journal.old"), append(first, '\n'), 0o600); err != nil {
					t.Fatal(err)
				}
				journal = rest
			}
			if err := os.WriteFile(filepath.Join(root, ".journal"), append(journal, tt.torn...), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.damage != nil {
				tt.damage(root)
			}
			victim := filepath.Join(base, "victim")
			writeValue(t, filepath.Join(victim, "mac"), "52:54:00:00:00:0a")
			var log syncbuf.Buffer
			s2 := openDirLog(t, root, &log)
			got, _ := s2.List(ctx)
			if len(got) != len(tt.want) {
				t.Fatalf("machines after replay = %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("machine after replay = %v, want %v", got[i], tt.want[i])
				}
			}
			if !strings.Contains(log.String(), tt.log) {
				t.Errorf("log does not say %q:\n%s", tt.log, log.String())
			}
			if fi, err := os.Stat(filepath.Join(root, ".journal")); err != nil || fi.Size() != 0 {
				t.Errorf("journal after replay: %v, %v; want empty", fi, err)
			}
			if _, err := os.Stat(filepath.Join(root, ".journal.old")); err == nil {
				t.Errorf("journal set aside is still there after replay")
			}
			entries, _ := os.ReadDir(filepath.Join(root, pxelatortest.Server().String()))
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left over after replay: %s", e.Name())
				}
			}
			if _, err := os.Stat(filepath.Join(base, "escaped")); err == nil {
				t.Errorf("replay wrote outside the root")
			}
			if _, err := os.Stat(filepath.Join(victim, "mac")); err != nil {
				t.Errorf("replay removed a directory outside the root: %v", err)
			}
		})
	}
}

// TestClosed: changes after Close fail; lookups still work.
func TestClosed(t *testing.T) {
	ctx := context.Background()
	s := openDir(t, t.TempDir())
	m := pxelatortest.NewMachine(1)
	if err := s.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, pxelatortest.NewMachine(2)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Put after Close = %v, want os.ErrClosed", err)
	}
	if err := s.Delete(ctx, m.MAC); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Delete after Close = %v, want os.ErrClosed", err)
	}
	pxelatortest.Check(t, s, m)
}

// TestCheckpoint: the journal empties by itself soon after a
// change, and the machine stays.
func TestCheckpoint(t *testing.T) {
	root := t.TempDir()
	s := openDir(t, root)
	m := pxelatortest.NewMachine(1)
	if err := s.Put(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(root, ".journal")); err != nil || fi.Size() == 0 {
		t.Fatalf("journal after Put: %v, %v; want the change in it", fi, err)
	}
	// syncfs(2) waits for every dirty page of the file system: allow a
	// busy machine a minute.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		fi, err := os.Stat(filepath.Join(root, ".journal"))
		_, oldErr := os.Stat(filepath.Join(root, ".journal.old"))
		if err == nil && fi.Size() == 0 && errors.Is(oldErr, os.ErrNotExist) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint within a minute: journal %v, %v", fi, err)
		}
	}
	pxelatortest.Check(t, openDir(t, root), m)
}

// TestDiskRefuses: when the machine directories cannot be
// written, the change that was journaled is kept and retried, later
// writes are refused with the reason, and nothing is lost across a
// Close and an open once the disk takes it again.
func TestDiskRefuses(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	// A file where the server directory must go.
	block := filepath.Join(root, pxelatortest.Server().String())
	if err := os.WriteFile(block, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var log syncbuf.Buffer
	s := openDirLog(t, root, &log)
	m := pxelatortest.NewMachine(1)
	if err := s.Put(ctx, m); err != nil {
		t.Fatalf("Put: %v (the journal took it)", err)
	}
	if err := s.Flush(ctx); err == nil {
		t.Fatal("Flush succeeded with the server directory blocked")
	}
	if err := s.Put(ctx, pxelatortest.NewMachine(2)); err == nil {
		t.Error("Put succeeded while the disk refuses the last change")
	}
	if !strings.Contains(log.String(), "retrying") {
		t.Errorf("log does not report the refused write:\n%s", log.String())
	}
	if err := s.Close(); err == nil {
		t.Error("Close succeeded with a change not written")
	}
	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	again := openDir(t, root)
	pxelatortest.Check(t, again, m)
	if err := again.Put(ctx, pxelatortest.NewMachine(2)); err != nil {
		t.Fatal(err)
	}
	if err := again.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(machineDir(root, m), "mac")); err != nil {
		t.Error(err)
	}
}

// TestReloadWhileWriting: machines whose directories are still
// being written behind the journal survive a Reload and a watcher's
// reconciling of their new server directory.
func TestReloadWhileWriting(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := openDir(t, root)
	const n = 300
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.Put(ctx, pxelatortest.NewMachine(i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the watcher reconcile what it saw
	for i := range n {
		pxelatortest.Check(t, s, pxelatortest.NewMachine(i))
	}
	if list, _ := s.List(ctx); len(list) != n {
		t.Errorf("%d machines after Reload, want %d", len(list), n)
	}
}
