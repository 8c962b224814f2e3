package boot_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/memstore"
)

// defaultRoot returns Files over an empty root and profiles directory,
// with one known machine of profile profile at 10.0.0.5.
func defaultRoot(t *testing.T, profile string) *boot.Files {
	t.Helper()
	dir := t.TempDir()
	store := memstore.New()
	must(t, store.Put(context.Background(), pxelator.Machine{MAC: mustMAC("52:54:00:12:34:56"), IP: netip.MustParseAddr("10.0.0.5"), Hostname: "ws-05", Profile: profile}))
	f := &boot.Files{Root: filepath.Join(dir, "root"), Profiles: filepath.Join(dir, "profiles"), Store: store}
	must(t, os.MkdirAll(f.Root, 0o755))
	must(t, os.MkdirAll(f.Profiles, 0o755))
	return f
}

var (
	server5 = netip.MustParseAddr("10.0.0.1")
	client5 = netip.MustParseAddr("10.0.0.5")
)

// TestDefaultProfileChains: the default profile's script chains to the
// loaders the root holds when there is a configuration for them, and
// shows the menu otherwise.
func TestDefaultProfileChains(t *testing.T) {
	const pxelinux = "chain tftp://10.0.0.1/pxelinux.0"
	const grub = "chain tftp://10.0.0.1/grubx64.efi"
	tests := []struct {
		name     string
		profile  string            // the machine's
		root     []string          // files in the root
		profiles map[string]string // templates in the profiles directory
		want     []string
		not      []string
	}{
		{"empty root: the menu", "", nil, nil, []string{"menu PXElator: ws-05", "choose --default profile-local"}, []string{pxelinux, grub}},
		{"classic layout", "", []string{"pxelinux.0", "ldlinux.c32", "pxelinux.cfg/default"}, nil, []string{pxelinux, "set 210:string tftp://10.0.0.1/", "menu"}, []string{grub}},
		{"no ldlinux.c32", "", []string{"pxelinux.0", "pxelinux.cfg/default"}, nil, []string{"menu"}, []string{pxelinux}},
		{"no configuration", "", []string{"pxelinux.0", "ldlinux.c32"}, nil, nil, []string{pxelinux}},
		{"profile with pxelinux.cfg only", "tftp", []string{"pxelinux.0", "ldlinux.c32"}, map[string]string{"tftp/pxelinux.cfg": "DEFAULT x\n"}, []string{pxelinux, `whose profile (tftp) has no boot.ipxe`}, nil},
		{"profile named default is none", "default", []string{"pxelinux.0", "ldlinux.c32"}, nil, nil, []string{pxelinux}},
		{"grub with a grub.cfg", "", []string{"grubx64.efi", "grub/grub.cfg"}, nil, []string{grub, "iseq ${platform} efi"}, []string{pxelinux}},
		{"grub without a grub.cfg", "", []string{"grubx64.efi"}, nil, nil, []string{grub}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := defaultRoot(t, tt.profile)
			for _, name := range tt.root {
				write(t, filepath.Join(f.Root, name), "x")
			}
			for name, text := range tt.profiles {
				write(t, filepath.Join(f.Profiles, name), text)
			}
			got, file, err := read(t, f, boot.Request{Name: "boot.ipxe", Client: client5, Server: server5})
			if err != nil {
				t.Fatal(err)
			}
			if file.Profile != boot.ProfileDefault {
				t.Errorf("rendered from %q, want the default profile", file.Profile)
			}
			if !strings.HasPrefix(got, "#!ipxe\n") {
				t.Errorf("not an iPXE script:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("script lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(got, w) {
					t.Errorf("script has %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestDefaultProfileMenu: the menu offers the profiles of the profiles
// directory and the embedded ones that have a boot.ipxe, never default or
// once, each chained with ?profile=.
func TestDefaultProfileMenu(t *testing.T) {
	f := defaultRoot(t, "")
	write(t, filepath.Join(f.Profiles, "mine", "boot.ipxe"), "#!ipxe\n")
	write(t, filepath.Join(f.Profiles, "nothing", "pxelinux.cfg"), "")
	write(t, filepath.Join(f.Profiles, ".hidden", "boot.ipxe"), "#!ipxe\n")
	got, _, err := read(t, f, boot.Request{Name: "boot.ipxe", Client: client5, Server: server5})
	must(t, err)
	var items []string
	for line := range strings.SplitSeq(got, "\n") {
		if name, ok := strings.CutPrefix(line, "item "); ok {
			items = append(items, strings.TrimPrefix(strings.Fields(name)[0], "profile-"))
		}
	}
	want := []string{"kiosk", "linux", "local", "mine", "rescue", "exit", "shell"}
	if strings.Join(items, " ") != strings.Join(want, " ") {
		t.Errorf("menu items %v, want %v", items, want)
	}
	for _, p := range []string{"kiosk", "linux", "local", "mine", "rescue"} {
		if !strings.Contains(got, ":profile-"+p+"\nchain http://10.0.0.1/boot/boot.ipxe?profile="+p+"&mac=${net0/mac} || goto menu\nexit\n") {
			t.Errorf("no chain to profile %s:\n%s", p, got)
		}
	}
	// Without a local profile the menu's default leaves iPXE.
	def, err := fs.ReadFile(boot.DefaultProfiles(), "default/boot.ipxe")
	must(t, err)
	f.Profiles = ""
	f.Defaults = fstest.MapFS{"linux/boot.ipxe": {Data: []byte("#!ipxe\n")}, "default/boot.ipxe": {Data: def}}
	got, _, err = read(t, f, boot.Request{Name: "boot.ipxe", Client: client5, Server: server5})
	must(t, err)
	if !strings.Contains(got, "choose --default exit") {
		t.Errorf("without a local profile, the default is not exit:\n%s", got)
	}
}

// TestRequestProfile: boot.ipxe?profile=NAME renders that profile for
// the machine, and only a profile that has a boot.ipxe.
func TestRequestProfile(t *testing.T) {
	f := defaultRoot(t, "local")
	tests := []struct {
		profile, want string
		err           error
	}{
		{"rescue", `PXElator profile "rescue" for ws-05`, nil},
		{"linux", `kernel http://10.0.0.1/boot/vmlinuz`, nil},
		{"default", `menu PXElator: ws-05`, nil},
		{"", `boots from the local disk`, nil},
		{"nope", "", fs.ErrNotExist},
		{"../etc", "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		got, _, err := read(t, f, boot.Request{Name: "boot.ipxe", Client: client5, Server: server5, Profile: tt.profile})
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) || !strings.Contains(got, tt.want) {
			t.Errorf("profile %q: %.60q, %v; want %q, %v", tt.profile, got, err, tt.want, tt.err)
		}
	}
	// Over HTTP, as the menu asks.
	s := httptest.NewServer(http.StripPrefix("/boot", &boot.HTTPHandler{Files: f}))
	defer s.Close()
	resp, err := http.Get(s.URL + "/boot/boot.ipxe?profile=rescue&mac=52:54:00:12:34:56")
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `profile "rescue" for ws-05`) {
		t.Errorf("GET boot.ipxe?profile=rescue: %s %q", resp.Status, body)
	}
}

// TestPXELinuxDefaultFallback: pxelinux.cfg/default comes from the root
// when it has one, else from the default profile, which starts iPXE when
// ipxe.lkrn is there.
func TestPXELinuxDefaultFallback(t *testing.T) {
	f := defaultRoot(t, "")
	get := func() string {
		got, file, err := read(t, f, boot.Request{Name: "pxelinux.cfg/default", Client: client5, Server: server5})
		must(t, err)
		if file.Profile != boot.ProfileDefault && !strings.HasPrefix(got, "static") {
			t.Errorf("rendered from %q", file.Profile)
		}
		return got
	}
	if got := get(); !strings.Contains(got, "DEFAULT local\n") {
		t.Errorf("without ipxe.lkrn:\n%s", got)
	}
	write(t, filepath.Join(f.Root, "ipxe.lkrn"), "x")
	if got := get(); !strings.Contains(got, "DEFAULT ipxe\n") || !strings.Contains(got, "KERNEL ipxe.lkrn") {
		t.Errorf("with ipxe.lkrn:\n%s", got)
	}
	write(t, filepath.Join(f.Root, "pxelinux.cfg", "default"), "static\n")
	if got := get(); got != "static\n" {
		t.Errorf("with the root's own: %q", got)
	}
	// Per-machine names never fall back to the default profile: pxelinux
	// must go on to the next name.
	if _, _, err := read(t, f, boot.Request{Name: "pxelinux.cfg/01-52-54-00-12-34-56", Client: client5}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pxelinux.cfg/01-<mac> of a machine without a profile: %v, want not found", err)
	}
}

// TestNoStore: without a store every machine is unknown and gets the
// default profile's script.
func TestNoStore(t *testing.T) {
	f := &boot.Files{Root: t.TempDir()}
	got, _, err := read(t, f, boot.Request{Name: "boot.ipxe", Client: client5, Server: server5, MAC: mustMAC("52:54:00:00:00:01")})
	if err != nil || !strings.Contains(got, "a new machine 52:54:00:00:00:01 10.0.0.5") {
		t.Errorf("%q, %v", got, err)
	}
}
