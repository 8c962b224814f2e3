package dirstore_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pxelator/pxelator/internal/syncbuf"
	"github.com/pxelator/pxelator/pxelatortest"
)

// TestSecretByNameOnDisk: a password written by hand with the umask's
// mode (0644, as echo or a git checkout leaves it) is a secret all the
// same; the store reports the file, without its value, and makes it
// mode 0600.
func TestSecretByNameOnDisk(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows keeps no mode bits: every value read from disk is a secret there")
	}
	root := t.TempDir()
	m := pxelatortest.NewMachine(0x0a3d)
	m.Hostname = "kiosk-01"
	dir := machineDir(root, m)
	writeMachine(t, dir, m)
	writeValue(t, filepath.Join(dir, "amt.password"), "hunter2")
	writeValue(t, filepath.Join(dir, "amt.address"), "10.77.1.1")

	var log syncbuf.Buffer
	s := openDirLog(t, root, &log)
	got := mustGet(t, s, m.MAC)
	if a, ok := got.Attr("amt.password"); !ok || !a.Secret || a.Value != "hunter2" {
		t.Errorf("amt.password of mode 0644 = %+v, %v; want a secret", a, ok)
	}
	if strings.Contains(got.String(), "hunter2") {
		t.Errorf("String prints the password: %s", got)
	}
	fi, err := os.Stat(filepath.Join(dir, "amt.password"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("amt.password after open: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "amt.address")); fi.Mode().Perm() != 0o644 {
		t.Errorf("amt.address after open: %v; want it left alone", fi.Mode())
	}
	if l := log.String(); !strings.Contains(l, "amt.password") || !strings.Contains(l, "0600") || strings.Contains(l, "hunter2") {
		t.Errorf("log %q: want the loose secret file reported by path, without its value", l)
	}

	// The same for one written while the store runs.
	writeValue(t, filepath.Join(dir, "web.token"), "tok-3141")
	eventually(t, "the token to be read", func() bool {
		a, ok := mustGet(t, s, m.MAC).Attr("web.token")
		return ok && a.Secret && a.Value == "tok-3141"
	})
	eventually(t, "the token file to be made 0600", func() bool {
		fi, err := os.Stat(filepath.Join(dir, "web.token"))
		return err == nil && fi.Mode().Perm() == 0o600
	})
}

// TestGitIgnoresSecrets: git add of the conf tree leaves out secrets,
// the journal and an audit database, and a clone of it still loads the
// machine; the user then writes the password again, with any mode.
func TestGitIgnoresSecrets(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed (Debian: git)")
	}
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "conf")
	s := openDir(t, root)
	m := pxelatortest.NewMachine(0x0a3d)
	m.Hostname = "kiosk-01"
	m.Set("amt.address", "10.77.1.1")
	m.Set("amt.password", "hunter2")
	m.SetSecret("bmc.pw", "s3cret") // secret by its mode alone: see the package doc
	if err := s.Put(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	writeValue(t, filepath.Join(root, "audit.db"), "not really a database")

	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.org")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	repo := filepath.Dir(root)
	run(repo, "init", "-q")
	run(repo, "add", "conf")
	run(repo, "commit", "-q", "-m", "machines")
	files := run(repo, "ls-files")
	for _, secret := range []string{"amt.password", ".journal", "audit.db"} {
		if strings.Contains(files, secret) {
			t.Errorf("git add conf committed %s:\n%s", secret, files)
		}
	}
	for _, kept := range []string{"/mac", "/hostname", "/amt.address", ".gitignore"} {
		if !strings.Contains(files, kept) {
			t.Errorf("git add conf left out %s:\n%s", kept, files)
		}
	}

	clone := filepath.Join(t.TempDir(), "clone")
	run(repo, "clone", "-q", repo, clone)
	c := openDir(t, filepath.Join(clone, "conf"))
	got := mustGet(t, c, m.MAC)
	if got.Hostname != "kiosk-01" || got.Get("amt.address") != "10.77.1.1" {
		t.Errorf("machine in the clone: %v", got)
	}
	if _, ok := got.Attr("amt.password"); ok {
		t.Errorf("the clone has the password")
	}
	// What the README tells the user: write the password again.
	writeValue(t, filepath.Join(clone, "conf", m.Server.String(), m.IP.String(), "amt.password"), "hunter2")
	eventually(t, "the password written in the clone", func() bool {
		a, ok := mustGet(t, c, m.MAC).Attr("amt.password")
		return ok && a.Secret && a.Value == "hunter2"
	})
}

// TestGitIgnoreKept: a .gitignore of the user's own is kept, and gets
// the lines that keep secrets out of git added once.
func TestGitIgnoreKept(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, ".gitignore"), []byte("/scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s := openDir(t, root)
		s.Close()
	}
	b, err := os.ReadFile(filepath.Join(root, ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if !strings.HasPrefix(got, "/scratch\n") || strings.Count(got, "/.journal\n") != 1 || !strings.Contains(got, "password") {
		t.Errorf(".gitignore = %q: want the user's line, then the store's lines once", got)
	}
}
