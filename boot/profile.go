package boot

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"
	"text/template"

	"github.com/pxelator/pxelator"
)

// Config names: the file name of a profile's template for each kind of
// per-machine configuration.
const (
	ConfigPXELinux = "pxelinux.cfg" // pxelinux.cfg/01-<mac>, pxelinux.cfg/<HEXIP>
	ConfigGRUB     = "grub.cfg"     // grub.cfg-01-<mac>, grub.cfg-<HEXIP>
	ConfigIPXE     = "boot.ipxe"    // boot.ipxe, for the client's address
)

//go:embed profiles
var defaultProfiles embed.FS

// DefaultProfiles returns the embedded profile templates, one directory
// per profile: "default", "linux", "kiosk", "rescue", "once" and "local"
// (see the package documentation). The reference server writes them into
// an empty profiles directory for a user to edit.
func DefaultProfiles() fs.FS {
	sub, err := fs.Sub(defaultProfiles, "profiles")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// A MachineName is a file name that asks for one machine's boot
// configuration, as parsed by ParseMachineName.
type MachineName struct {
	Config string           // the template: ConfigPXELinux, ConfigGRUB or ConfigIPXE
	MAC    net.HardwareAddr // the machine of a 01-<mac> name
	IP     netip.Addr       // the machine of a full hex-IP name
	// ByClient says that the name is for the machine at the client's
	// address: boot.ipxe, or a shortened hex-IP name (HexPrefix), which
	// names the client when it is a prefix of the client's address in
	// hex, as pxelinux means it.
	ByClient  bool
	HexPrefix string
}

// ParseMachineName tells whether name is a per-machine name, one of those
// boot loaders try:
//
//	[dir/]pxelinux.cfg/01-aa-bb-cc-dd-ee-ff   pxelinux, by MAC
//	[dir/]pxelinux.cfg/C0A80A05               pxelinux, by IP (also shortened: C0A80A0, C0A80A, ...)
//	[dir/]grub.cfg-01-aa-bb-cc-dd-ee-ff       GRUB, by MAC
//	[dir/]grub.cfg-C0A80A05                   GRUB, by IP (also shortened)
//	[dir/]boot.ipxe                           iPXE, for the client's address
func ParseMachineName(name string) (MachineName, bool) {
	dir, base := path.Split(name)
	var n MachineName
	var key string
	switch {
	case path.Base(dir) == "pxelinux.cfg":
		n.Config, key = ConfigPXELinux, base
	case strings.HasPrefix(base, "grub.cfg-"):
		n.Config, key = ConfigGRUB, strings.TrimPrefix(base, "grub.cfg-")
	case base == "boot.ipxe":
		return MachineName{Config: ConfigIPXE, ByClient: true}, true
	default:
		return MachineName{}, false
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(key), "01-"); ok && len(rest) == 17 {
		if m, err := net.ParseMAC(strings.ReplaceAll(rest, "-", ":")); err == nil {
			n.MAC = m
			return n, true
		}
	}
	if len(key) < 1 || len(key) > 8 || !isHex(key) {
		return MachineName{}, false
	}
	key = strings.ToUpper(key)
	if len(key) < 8 {
		n.ByClient, n.HexPrefix = true, key
		return n, true
	}
	var b [4]byte
	for i := range b {
		b[i] = unhex(key[2*i])<<4 | unhex(key[2*i+1])
	}
	n.IP = netip.AddrFrom4(b)
	return n, true
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// HexIP returns ip in the upper-case hex form pxelinux and GRUB use.
func HexIP(ip netip.Addr) string {
	b := ip.Unmap().As4()
	return fmt.Sprintf("%02X%02X%02X%02X", b[0], b[1], b[2], b[3])
}

// isFallbackName reports whether name is the configuration pxelinux asks
// for last, when no per-machine name answered: [dir/]pxelinux.cfg/default.
func isFallbackName(name string) bool {
	dir, base := path.Split(name)
	return base == "default" && path.Base(dir) == "pxelinux.cfg"
}

// client is the machine a per-machine name is for, as Open finds it.
type client struct {
	m     pxelator.Machine // the machine; only its IP (and MAC) when unknown
	known bool             // whether the store holds it
	own   string           // the profile it boots now: its own, a once target, or Request.Profile
}

// client finds the machine name n is for and the profile it boots. A
// machine of profile "once" is switched to "local" here (see [ProfileOnce]).
func (f *Files) client(ctx context.Context, name string, n MachineName, r Request) (*client, error) {
	c := &client{}
	clientIP := r.Client.Unmap()
	var err error
	switch {
	case f.Store == nil:
		err = pxelator.ErrNotFound
	case n.MAC != nil:
		c.m, err = f.Store.ByMAC(ctx, n.MAC)
	case n.IP.IsValid():
		c.m, err = f.Store.ByIP(ctx, n.IP)
	case n.Config == ConfigIPXE && r.MAC != nil:
		c.m, err = f.Store.ByMAC(ctx, r.MAC)
	case clientIP.Is4() && strings.HasPrefix(HexIP(clientIP), n.HexPrefix):
		c.m, err = f.Store.ByIP(ctx, clientIP)
	default:
		err = pxelator.ErrNotFound
	}
	switch {
	case err == nil:
		c.known = true
	case errors.Is(err, pxelator.ErrNotFound):
		c.m = pxelator.Machine{MAC: n.MAC, IP: cmp.Or(n.IP, clientIP)}
		if c.m.MAC == nil {
			c.m.MAC = r.MAC
		}
	default:
		return nil, fmt.Errorf("boot: looking up the machine for %q: %w", name, err)
	}
	switch {
	case r.Profile != "":
		c.own = r.Profile
	case c.known:
		if c.own, err = f.once(ctx, &c.m); err != nil {
			return nil, err
		}
	}
	if c.own == ProfileDefault {
		c.own = "" // the default profile is what a machine without one gets, never its own
	}
	return c, nil
}

// render returns the configuration name of client c rendered from the
// template of profile, or nil without an error when the profile has no
// template for it.
func (f *Files) render(name string, c *client, profile string, r Request) (*File, error) {
	n, ok := ParseMachineName(name)
	if !ok {
		n.Config = ConfigPXELinux // pxelinux.cfg/default
	}
	text, err := f.template(profile, n.Config)
	if text == nil || err != nil {
		return nil, err
	}
	tmpl, err := template.New(profile + "/" + n.Config).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("boot: profile %q: %w", profile, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, f.data(name, profile, c, r)); err != nil {
		return nil, fmt.Errorf("boot: profile %q: %w", profile, err)
	}
	return bytesFile(name, out.Bytes(), profile, c.m), nil
}

// template returns the text of the profile's template for config, from
// f.Profiles or else from the defaults, or nil when there is none.
func (f *Files) template(profile, config string) ([]byte, error) {
	if !ValidProfile(profile) {
		return nil, nil
	}
	name := profile + "/" + config
	if f.Profiles != "" {
		root, err := os.OpenRoot(f.Profiles)
		if err == nil {
			b, err := root.ReadFile(name)
			root.Close()
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("boot: reading template %s: %w", name, err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("boot: profiles: %w", err)
		}
	}
	b, err := fs.ReadFile(f.defaults(), name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// ValidProfile reports whether name can name a profile: letters, digits,
// '.', '_' and '-', not beginning with a dot, at most 64 bytes.
func ValidProfile(name string) bool {
	if name == "" || len(name) > 64 || name[0] == '.' {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Data is what a profile template sees. Its methods Attr, Has,
// ProfileHas and Profiles are called in templates as {{.Attr "cmdline"}},
// {{if .Has "pxelinux.0"}}, {{range .Profiles}}.
type Data struct {
	Name     string     // the file name the client asked for
	MAC      string     // the machine's MAC address, aa:bb:cc:dd:ee:ff ("" when unknown)
	IP       netip.Addr // the machine's address
	Hostname string     // "" for a machine the store does not hold
	Profile  string     // the profile being rendered ("default" for the default profile)
	// Own is the profile the machine boots: its own (or, for a machine of
	// profile "once", the one it boots once); "" when it names none.
	Own    string
	Server netip.Addr // the address the client reached
	HTTP   string     // the URL of the HTTP boot root, ending in "/"

	m pxelator.Machine
	f *Files
}

// Attr returns the machine's attribute key, or "" when it is not set or
// is a secret: templates never see secrets.
func (d Data) Attr(key string) string {
	a, ok := d.m.Attr(key)
	if !ok || a.Secret {
		return ""
	}
	return a.Value
}

// Has reports whether the boot root holds the static file name, such as
// "pxelinux.0" or "pxelinux.cfg/default".
func (d Data) Has(name string) bool {
	name, err := CleanName(name)
	return err == nil && d.f.has(name)
}

// ProfileHas reports whether the machine's own profile (Own, not the
// default) has a template for config: "pxelinux.cfg", "grub.cfg" or
// "boot.ipxe".
func (d Data) ProfileHas(config string) bool {
	if d.Own == "" {
		return false
	}
	text, err := d.f.template(d.Own, config)
	return err == nil && text != nil
}

// Profiles returns, sorted, the profiles that have a boot.ipxe template,
// in the profiles directory or the defaults, but "default" and "once":
// the entries of the default profile's menu.
func (d Data) Profiles() []string {
	return d.f.menuProfiles()
}

func (f *Files) menuProfiles() []string {
	var names []string
	add := func(fsys fs.FS) {
		ents, err := fs.ReadDir(fsys, ".")
		if err != nil {
			return
		}
		for _, e := range ents {
			if n := e.Name(); e.IsDir() && ValidProfile(n) && n != ProfileDefault && n != ProfileOnce {
				if _, err := fs.Stat(fsys, n+"/"+ConfigIPXE); err == nil {
					names = append(names, n)
				}
			}
		}
	}
	if f.Profiles != "" {
		if root, err := os.OpenRoot(f.Profiles); err == nil {
			add(root.FS())
			root.Close()
		}
	}
	add(f.defaults())
	slices.Sort(names)
	return slices.Compact(names)
}

func (f *Files) defaults() fs.FS {
	if f.Defaults == nil {
		return DefaultProfiles()
	}
	return f.Defaults
}

func (f *Files) data(name, profile string, c *client, r Request) Data {
	base := f.HTTPBase
	if base == "" {
		base = "http://{server}/boot/"
	}
	server := r.Server.Unmap()
	if !server.IsValid() {
		server = c.m.Server
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	mac := ""
	if c.m.MAC != nil {
		mac = c.m.MAC.String()
	}
	return Data{
		Name: name, MAC: mac, IP: c.m.IP, Hostname: c.m.Hostname, Profile: profile, Own: c.own,
		Server: server, HTTP: strings.ReplaceAll(base, "{server}", server.String()), m: c.m, f: f,
	}
}
