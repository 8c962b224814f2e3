package boot_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/memstore"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"pxelinux.0", "pxelinux.0", nil},
		{"/pxelinux.0", "pxelinux.0", nil},
		{"//grub/grub.cfg", "grub/grub.cfg", nil},
		{"a/./b", "a/b", nil},
		{"a//b", "a/b", nil},
		{"100%.txt", "100%.txt", nil},
		{"%41", "%41", nil},
		{"..", "", boot.ErrOutside},
		{"../etc/passwd", "", boot.ErrOutside},
		{"a/../../b", "", boot.ErrOutside},
		{"a/../b", "", boot.ErrOutside}, // any ".." is refused, even one that stays inside
		{`..\secret`, "", boot.ErrOutside},
		{`boot\pxeboot.n12`, "", boot.ErrOutside},
		{"a\x00b", "", boot.ErrOutside},
		{"a\nb", "", boot.ErrOutside},
		{"%2e%2e/secret", "", boot.ErrOutside},
		{"%2E%2E%2Fsecret", "", boot.ErrOutside},
		{"..%2fsecret", "", boot.ErrOutside},
		{"..%5csecret", "", boot.ErrOutside},
		{"a%00", "", boot.ErrOutside},
		{"", "", fs.ErrNotExist},
		{"/", "", fs.ErrNotExist},
		{".", "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		got, err := boot.CleanName(tt.in)
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("CleanName(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
		if errors.Is(err, boot.ErrOutside) && !errors.Is(err, fs.ErrPermission) {
			t.Errorf("CleanName(%q): %v does not match fs.ErrPermission", tt.in, err)
		}
	}
}

// testRoot makes a boot root, a profiles directory and a store with two
// machines, and returns the Files serving them.
func testRoot(t *testing.T) (*boot.Files, pxelator.Store) {
	t.Helper()
	dir := t.TempDir()
	root := filepath.Join(dir, "tftpboot")
	write(t, filepath.Join(dir, "secret"), "outside the root")
	write(t, filepath.Join(root, "pxelinux.cfg", "default"), "DEFAULT static\n")
	write(t, filepath.Join(root, "vmlinuz"), strings.Repeat("kernel", 1000))
	write(t, filepath.Join(root, "images", "disk.img"), "disk image")
	must(t, os.Symlink("images/disk.img", filepath.Join(root, "memdisk.image")))
	must(t, os.Symlink("../secret", filepath.Join(root, "escape")))
	must(t, os.Symlink("/etc/passwd", filepath.Join(root, "passwd")))
	profiles := filepath.Join(dir, "profiles")
	write(t, filepath.Join(profiles, "webkiosk", "pxelinux.cfg"),
		"# {{.Hostname}} {{.MAC}} {{.IP}} via {{.Server}}\nAPPEND url={{.HTTP}}kiosk.img on={{.Attr \"kiosk.on\"}} pw={{.Attr \"amt.password\"}}\n")

	store := memstore.New()
	ctx := context.Background()
	kiosk := pxelator.Machine{MAC: mustMAC("52:54:00:12:34:56"), IP: netip.MustParseAddr("10.0.0.5"), Hostname: "kiosk-01", Profile: "webkiosk"}
	kiosk.Set("kiosk.on", "07:30")
	kiosk.SetSecret("amt.password", "hunter2")
	must(t, store.Put(ctx, kiosk))
	must(t, store.Put(ctx, pxelator.Machine{MAC: mustMAC("52:54:00:00:00:07"), IP: netip.MustParseAddr("10.0.0.7"), Hostname: "ws-07", Profile: "linux"}))
	must(t, store.Put(ctx, pxelator.Machine{MAC: mustMAC("52:54:00:00:00:08"), IP: netip.MustParseAddr("10.0.0.8")})) // no profile
	return &boot.Files{Root: root, Profiles: profiles, Store: store}, store
}

func write(t *testing.T, name, content string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(name), 0o755))
	must(t, os.WriteFile(name, []byte(content), 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func read(t *testing.T, f *boot.Files, r boot.Request) (string, *boot.File, error) {
	t.Helper()
	file, err := f.Open(context.Background(), r)
	if err != nil {
		return "", nil, err
	}
	defer file.Close()
	b, err := io.ReadAll(file.Content)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != file.Size {
		t.Errorf("%s: Size %d, read %d bytes", r.Name, file.Size, len(b))
	}
	return string(b), file, nil
}

func TestOpenStatic(t *testing.T) {
	f, _ := testRoot(t)
	tests := []struct {
		name, want string
		err        error
	}{
		{"vmlinuz", strings.Repeat("kernel", 1000), nil},
		{"/vmlinuz", strings.Repeat("kernel", 1000), nil},
		{"memdisk.image", "disk image", nil}, // a link inside the root
		{"pxelinux.cfg/default", "DEFAULT static\n", nil},
		{"missing", "", fs.ErrNotExist},
		{"images", "", fs.ErrNotExist}, // a directory
		{"escape", "", boot.ErrOutside},
		{"passwd", "", boot.ErrOutside},
		{"../secret", "", boot.ErrOutside},
		{"/etc/passwd", "", fs.ErrNotExist}, // root/etc/passwd
	}
	for _, tt := range tests {
		got, _, err := read(t, f, boot.Request{Name: tt.name})
		if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("Open(%q) = %.20q, %v; want %.20q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestOpenPerMachine(t *testing.T) {
	f, _ := testRoot(t)
	client5 := netip.MustParseAddr("10.0.0.5")
	server := netip.MustParseAddr("10.0.0.1")
	tests := []struct {
		name    string
		client  netip.Addr
		want    string // a substring of the answer
		profile string
	}{
		{"pxelinux.cfg/01-52-54-00-12-34-56", netip.Addr{}, "# kiosk-01 52:54:00:12:34:56 10.0.0.5 via 10.0.0.1\nAPPEND url=http://10.0.0.1/boot/kiosk.img on=07:30 pw=\n", "webkiosk"},
		{"pxelinux.cfg/01-52-54-00-12-34-56", client5, "on=07:30", "webkiosk"},
		{"bios/pxelinux.cfg/01-52-54-00-12-34-56", client5, "on=07:30", "webkiosk"},
		{"pxelinux.cfg/0A000005", netip.Addr{}, "on=07:30", "webkiosk"},
		{"pxelinux.cfg/0a000005", netip.Addr{}, "on=07:30", "webkiosk"},
		{"pxelinux.cfg/0A00000", client5, "on=07:30", "webkiosk"},
		{"pxelinux.cfg/0A", client5, "on=07:30", "webkiosk"},
		{"pxelinux.cfg/0A00000", netip.MustParseAddr("10.0.0.7"), "KERNEL vmlinuz", "linux"},
		{"pxelinux.cfg/0B", client5, "", ""},                                      // not the client's prefix: no such static file
		{"pxelinux.cfg/01-52-54-00-00-00-07", client5, "KERNEL vmlinuz", "linux"}, // embedded default
		{"pxelinux.cfg/01-52-54-00-00-00-08", client5, "", ""},                    // no profile: no static file
		{"pxelinux.cfg/01-52-54-00-00-00-99", client5, "", ""},                    // unknown machine
		{"pxelinux.cfg/default", client5, "DEFAULT static", ""},                   // static
		{"grub.cfg-01-52-54-00-00-00-07", client5, "linux /vmlinuz", "linux"},
		{"grub/grub.cfg-0A000007", client5, "linux /vmlinuz", "linux"},
		{"grub.cfg-01-52-54-00-12-34-56", client5, "", ""}, // webkiosk has no grub.cfg template
		{"boot.ipxe", netip.MustParseAddr("10.0.0.7"), "kernel http://10.0.0.1/boot/vmlinuz initrd=initrd.gz", "linux"},
		{"boot.ipxe", client5, `# PXElator profile "default" for kiosk-01`, "default"},                             // webkiosk has no boot.ipxe
		{"boot.ipxe", netip.MustParseAddr("10.0.0.99"), `PXElator profile "default" for a new machine`, "default"}, // unknown
		{"pxelinux.cfg/default", netip.MustParseAddr("10.0.0.99"), "DEFAULT static", ""},                           // the root's own beats the default profile
	}
	for _, tt := range tests {
		got, file, err := read(t, f, boot.Request{Name: tt.name, Client: tt.client, Server: server})
		if tt.want == "" {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open(%q from %v) = %q, %v; want not found", tt.name, tt.client, got, err)
			}
			continue
		}
		if err != nil || !strings.Contains(got, tt.want) {
			t.Errorf("Open(%q from %v) = %q, %v; want it to contain %q", tt.name, tt.client, got, err, tt.want)
			continue
		}
		if file.Profile != tt.profile {
			t.Errorf("Open(%q): profile %q, want %q", tt.name, file.Profile, tt.profile)
		}
		if strings.Contains(got, "hunter2") {
			t.Errorf("Open(%q): a secret reached the config", tt.name)
		}
	}
}

// TestEditsApplyWithoutRestart: editing a template or a machine's profile
// changes the next answer.
func TestEditsApplyWithoutRestart(t *testing.T) {
	f, store := testRoot(t)
	ctx := context.Background()
	name := "pxelinux.cfg/01-52-54-00-12-34-56"
	r := boot.Request{Name: name, Server: netip.MustParseAddr("10.0.0.1")}
	write(t, filepath.Join(f.Profiles, "webkiosk", "pxelinux.cfg"), "edited {{.Hostname}}\n")
	if got, _, err := read(t, f, r); err != nil || got != "edited kiosk-01\n" {
		t.Errorf("after editing the template: %q, %v", got, err)
	}
	m, err := store.ByMAC(ctx, mustMAC("52:54:00:12:34:56"))
	must(t, err)
	m.Profile = "local"
	must(t, store.Put(ctx, m))
	if got, _, err := read(t, f, r); err != nil || !strings.Contains(got, "LOCALBOOT 0") {
		t.Errorf("after changing the profile: %q, %v", got, err)
	}
	// A profile directory that overrides an embedded default.
	write(t, filepath.Join(f.Profiles, "local", "pxelinux.cfg"), "my local\n")
	if got, _, err := read(t, f, r); err != nil || got != "my local\n" {
		t.Errorf("after overriding the default: %q, %v", got, err)
	}
}

func TestBrokenTemplate(t *testing.T) {
	f, _ := testRoot(t)
	write(t, filepath.Join(f.Profiles, "webkiosk", "pxelinux.cfg"), "{{.Nope}}\n")
	_, _, err := read(t, f, boot.Request{Name: "pxelinux.cfg/01-52-54-00-12-34-56"})
	if err == nil || errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "webkiosk") {
		t.Errorf("broken template: %v, want an error naming the profile", err)
	}
	write(t, filepath.Join(f.Profiles, "webkiosk", "pxelinux.cfg"), "{{if}}\n")
	if _, _, err := read(t, f, boot.Request{Name: "pxelinux.cfg/01-52-54-00-12-34-56"}); err == nil {
		t.Errorf("template that does not parse: no error")
	}
}

func TestBadProfileName(t *testing.T) {
	f, store := testRoot(t)
	m, err := store.ByMAC(context.Background(), mustMAC("52:54:00:12:34:56"))
	must(t, err)
	write(t, filepath.Join(filepath.Dir(f.Profiles), "pxelinux.cfg"), "outside profiles")
	m.Profile = ".."
	must(t, store.Put(context.Background(), m))
	if got, _, err := read(t, f, boot.Request{Name: "pxelinux.cfg/01-52-54-00-12-34-56"}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("profile \"..\": %q, %v; want not found", got, err)
	}
}

func TestParseMachineName(t *testing.T) {
	tests := []struct {
		name string
		want string // the MachineName printed, "" when not a machine name
	}{
		{"pxelinux.cfg/01-aa-bb-cc-dd-ee-ff", "pxelinux.cfg aa:bb:cc:dd:ee:ff invalid IP false "},
		{"bios/pxelinux.cfg/01-AA-BB-CC-DD-EE-FF", "pxelinux.cfg aa:bb:cc:dd:ee:ff invalid IP false "},
		{"pxelinux.cfg/C0A80001", "pxelinux.cfg  192.168.0.1 false "},
		{"pxelinux.cfg/c0a80001", "pxelinux.cfg  192.168.0.1 false "},
		{"pxelinux.cfg/C0A8", "pxelinux.cfg  invalid IP true C0A8"},
		{"pxelinux.cfg/C", "pxelinux.cfg  invalid IP true C"},
		{"grub.cfg-01-aa-bb-cc-dd-ee-ff", "grub.cfg aa:bb:cc:dd:ee:ff invalid IP false "},
		{"grub/grub.cfg-0A0000", "grub.cfg  invalid IP true 0A0000"},
		{"boot.ipxe", "boot.ipxe  invalid IP true "},
		{"ipxe/boot.ipxe", "boot.ipxe  invalid IP true "},
		{"pxelinux.cfg/default", ""},
		{"pxelinux.cfg/b8945908-d6a6-41a9-611d-74a6ab80b83d", ""},
		{"pxelinux.cfg/C0A800011", ""},
		{"pxelinux.cfg/01-aa-bb", ""},
		{"grub.cfg", ""},
		{"grub.cfg-", ""},
		{"pxelinux.0", ""},
	}
	for _, tt := range tests {
		n, ok := boot.ParseMachineName(tt.name)
		got := ""
		if ok {
			mac := ""
			if n.MAC != nil {
				mac = n.MAC.String()
			}
			got = fmt.Sprintf("%s %s %v %v %s", n.Config, mac, n.IP, n.ByClient, n.HexPrefix)
		}
		if got != tt.want {
			t.Errorf("ParseMachineName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestDefaultProfiles renders every embedded template for a machine of
// its profile: each one parses, runs, and says what it is.
func TestDefaultProfiles(t *testing.T) {
	store := memstore.New()
	m := pxelator.Machine{MAC: mustMAC("02:00:00:00:00:01"), IP: netip.MustParseAddr("10.1.0.1"), Hostname: "h", Profile: "linux"}
	m.Set("cmdline", "console=ttyS0")
	must(t, store.Put(context.Background(), m))
	files := &boot.Files{Root: t.TempDir(), Store: store}
	names := map[string]string{
		boot.ConfigPXELinux: "pxelinux.cfg/01-02-00-00-00-00-01",
		boot.ConfigGRUB:     "grub.cfg-01-02-00-00-00-00-01",
		boot.ConfigIPXE:     "boot.ipxe",
	}
	dirs, err := fs.ReadDir(boot.DefaultProfiles(), ".")
	must(t, err)
	var profiles []string
	for _, d := range dirs {
		profile := d.Name()
		profiles = append(profiles, profile)
		m.Profile = profile
		must(t, store.Put(context.Background(), m))
		templates, err := fs.ReadDir(boot.DefaultProfiles(), profile)
		must(t, err)
		for _, tmpl := range templates {
			name := names[tmpl.Name()]
			if profile == boot.ProfileDefault && tmpl.Name() == boot.ConfigPXELinux {
				name = "pxelinux.cfg/default"
			}
			got, file, err := read(t, files, boot.Request{Name: name, Client: m.IP, Server: netip.MustParseAddr("10.1.0.254")})
			if err != nil || file.Profile != profile || !strings.Contains(got, `PXElator profile "`+profile+`"`) {
				t.Errorf("%s %s: %q, %v", profile, name, got, err)
				continue
			}
			if profile == "linux" && !strings.Contains(got, "console=ttyS0") {
				t.Errorf("%s %s: no cmdline in %q", profile, name, got)
			}
			if !strings.Contains(got, "Variables:") {
				t.Errorf("%s/%s does not document its variables", profile, tmpl.Name())
			}
		}
	}
	if want := "default kiosk linux local once rescue"; strings.Join(profiles, " ") != want {
		t.Errorf("embedded profiles %v, want %s", profiles, want)
	}
}
