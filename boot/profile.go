package boot

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path"
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

// DefaultProfiles returns the embedded profile templates: "local" (boot
// from the local disk) and "linux" (vmlinuz and initrd.gz from the boot
// root, with the machine's "cmdline" attribute on the kernel command line).
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

// render returns the configuration for name rendered from the machine's
// profile, or nil without an error when no profile applies.
func (f *Files) render(ctx context.Context, name string, r Request) (*File, error) {
	n, ok := ParseMachineName(name)
	if !ok {
		return nil, nil
	}
	var m pxelator.Machine
	var err error
	client := r.Client.Unmap()
	switch {
	case n.MAC != nil:
		m, err = f.Store.ByMAC(ctx, n.MAC)
	case n.IP.IsValid():
		m, err = f.Store.ByIP(ctx, n.IP)
	case n.Config == ConfigIPXE && r.MAC != nil:
		m, err = f.Store.ByMAC(ctx, r.MAC)
	case client.Is4() && strings.HasPrefix(HexIP(client), n.HexPrefix):
		m, err = f.Store.ByIP(ctx, client)
	default:
		return nil, nil
	}
	if errors.Is(err, pxelator.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("boot: looking up the machine for %q: %w", name, err)
	}
	profile := m.Profile
	once := m.Get(pxelator.AttrProfileOnce)
	if once != "" {
		profile = once
	}
	text, err := f.template(profile, n.Config)
	if text == nil || err != nil {
		return nil, err
	}
	tmpl, err := template.New(profile + "/" + n.Config).Option("missingkey=error").Parse(string(text))
	if err != nil {
		return nil, fmt.Errorf("boot: profile %q: %w", profile, err)
	}
	d := f.data(name, m, r)
	d.Profile = profile
	var out bytes.Buffer
	if err := tmpl.Execute(&out, d); err != nil {
		return nil, fmt.Errorf("boot: profile %q: %w", profile, err)
	}
	if once != "" {
		// The next boot only: later requests get the machine's profile.
		m.Set(pxelator.AttrProfileOnce, "")
		if err := f.Store.Put(ctx, m); err != nil {
			return nil, fmt.Errorf("boot: clearing %s of %v: %w", pxelator.AttrProfileOnce, m.MAC, err)
		}
	}
	return bytesFile(name, out.Bytes(), profile, m), nil
}

// template returns the text of the profile's template for config, from
// f.Profiles or else from the defaults, or nil when there is none.
func (f *Files) template(profile, config string) ([]byte, error) {
	if profile == "" || profile[0] == '.' || strings.ContainsAny(profile, `/\`) {
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
	defaults := f.Defaults
	if defaults == nil {
		defaults = DefaultProfiles()
	}
	b, err := fs.ReadFile(defaults, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Data is what a profile template sees.
type Data struct {
	Name     string     // the file name the client asked for
	MAC      string     // the machine's MAC address, aa:bb:cc:dd:ee:ff
	IP       netip.Addr // the machine's address
	Hostname string
	Profile  string
	Server   netip.Addr // the address the client reached
	HTTP     string     // the URL of the HTTP boot root, ending in "/"

	m pxelator.Machine
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

func (f *Files) data(name string, m pxelator.Machine, r Request) Data {
	base := f.HTTPBase
	if base == "" {
		base = "http://{server}/boot/"
	}
	server := r.Server.Unmap()
	if !server.IsValid() {
		server = m.Server
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return Data{
		Name: name, MAC: m.MAC.String(), IP: m.IP, Hostname: m.Hostname, Profile: m.Profile,
		Server: server, HTTP: strings.ReplaceAll(base, "{server}", server.String()), m: m,
	}
}
