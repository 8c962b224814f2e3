package pxelator

import (
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strings"
)

// Well-known attribute keys. Any other key is allowed; these are the ones
// the packages of this module read.
const (
	AttrMAC      = "mac"      // the machine's hardware address
	AttrHostname = "hostname" // the machine's host name
	AttrProfile  = "profile"  // the boot profile
	// AttrNetboot, set to "false", gives a machine an address but no boot file.
	AttrNetboot = "netboot"
)

// secretSuffixes name the attributes that are secrets by their key,
// whatever way they are set or read.
var secretSuffixes = [...]string{"password", "secret", "token"}

// SecretKey reports whether key names a secret by itself: it is
// "password", "secret" or "token", or ends in ".password", ".secret" or
// ".token" (in any case), as amt.password and drac.password do. Such an
// attribute is a secret however it is set: [Machine.Set] marks it, and
// a store marks it whatever its file's mode.
func SecretKey(key string) bool {
	for _, s := range secretSuffixes {
		if len(key) >= len(s) && strings.EqualFold(key[len(key)-len(s):], s) &&
			(len(key) == len(s) || key[len(key)-len(s)-1] == '.') {
			return true
		}
	}
	return false
}

// redacted replaces the value of a secret attribute in every printed form.
const redacted = "[secret]"

// Attr is the value of one free attribute of a [Machine].
type Attr struct {
	Value string
	// Secret marks a value that never reaches logs, audit records,
	// templates or web pages. It is set by [Machine.SetSecret], and for
	// every key that [SecretKey] names a secret, however it is set. The
	// dirstore package writes it to a file of mode 0600.
	Secret bool
}

// Machine is one machine of a network segment: its hardware address, the
// address it is given, the server (segment) it belongs to, its host name,
// its boot profile and free attributes such as a BMC address or a kiosk
// schedule.
//
// A Machine is a value. Its attribute map is copied on write, so a Machine
// returned by a [Store] may be changed with [Machine.Set] without affecting
// the store; the MAC bytes must not be modified in place.
type Machine struct {
	MAC      net.HardwareAddr
	IP       netip.Addr
	Server   netip.Addr // the address of the server whose segment the machine is on
	Hostname string
	Profile  string

	attrs map[string]Attr
}

// Get returns the value of the attribute key, or "" when it is not set.
// It also answers for the fields "mac", "hostname" and "profile".
func (m Machine) Get(key string) string {
	switch key {
	case AttrHostname:
		return m.Hostname
	case AttrProfile:
		return m.Profile
	case AttrMAC:
		if m.MAC == nil {
			return ""
		}
		return m.MAC.String()
	}
	return m.attrs[key].Value
}

// Attr returns the attribute key and whether it is set.
func (m Machine) Attr(key string) (Attr, bool) {
	a, ok := m.attrs[key]
	return a, ok
}

// Set sets the attribute key to value. Setting "mac", "hostname" or
// "profile" sets the field of the same name; a MAC address that does not
// parse leaves MAC nil, so that Validate reports it. An empty value
// removes the attribute. A key that [SecretKey] names a secret
// (amt.password) is set as a secret, as with SetSecret.
func (m *Machine) Set(key, value string) { m.set(key, Attr{Value: value, Secret: SecretKey(key)}) }

// SetSecret sets the attribute key to a secret value, such as a BMC
// password. Secrets are never printed by String or LogValue.
func (m *Machine) SetSecret(key, value string) { m.set(key, Attr{Value: value, Secret: true}) }

func (m *Machine) set(key string, a Attr) {
	switch key {
	case AttrMAC:
		m.MAC, _ = ParseMAC(a.Value) // nil when it does not parse
		return
	case AttrHostname:
		m.Hostname = a.Value
		return
	case AttrProfile:
		m.Profile = a.Value
		return
	}
	attrs := maps.Clone(m.attrs)
	if a.Value == "" {
		delete(attrs, key)
	} else {
		if attrs == nil {
			attrs = make(map[string]Attr, 1)
		}
		attrs[key] = a
	}
	m.attrs = attrs
}

// Keys returns the names of the free attributes in sorted order; the
// fields MAC, IP, Server, Hostname and Profile are not among them.
func (m Machine) Keys() []string { return slices.Sorted(maps.Keys(m.attrs)) }

// Attrs returns an iterator over the free attributes and their values, in
// the order of Keys. A store uses it to write secrets apart.
func (m Machine) Attrs() iter.Seq2[string, Attr] {
	return func(yield func(string, Attr) bool) {
		for _, k := range m.Keys() {
			if !yield(k, m.attrs[k]) {
				return
			}
		}
	}
}

// Clone returns a deep copy of m.
func (m Machine) Clone() Machine {
	m.MAC = slices.Clone(m.MAC)
	m.attrs = maps.Clone(m.attrs)
	return m
}

// Equal reports whether m and o hold the same values.
func (m Machine) Equal(o Machine) bool {
	return m.MAC.String() == o.MAC.String() && m.IP == o.IP && m.Server == o.Server &&
		m.Hostname == o.Hostname && m.Profile == o.Profile && maps.Equal(m.attrs, o.attrs)
}

// Validate reports what makes m unfit for a store: a missing or malformed
// MAC, a missing IPv4 address, or an attribute key that is not a plain
// file name.
func (m Machine) Validate() error {
	if len(m.MAC) == 0 {
		return fmt.Errorf("pxelator: machine %v: no MAC address", m.IP)
	}
	if len(m.MAC) != 6 && len(m.MAC) != 8 && len(m.MAC) != 20 {
		return fmt.Errorf("pxelator: machine %v: bad MAC address %q", m.IP, m.MAC)
	}
	if !m.IP.Is4() {
		return fmt.Errorf("pxelator: machine %v: no IPv4 address", m.MAC)
	}
	if m.Server.IsValid() && !m.Server.Is4() {
		return fmt.Errorf("pxelator: machine %v: server %v is not IPv4", m.MAC, m.Server)
	}
	if err := validHostname(m.Hostname); err != nil {
		return fmt.Errorf("pxelator: machine %v: %w", m.MAC, err)
	}
	for k, a := range m.attrs {
		if err := validKey(k); err != nil {
			return fmt.Errorf("pxelator: machine %v: %w", m.MAC, err)
		}
		if strings.ContainsAny(a.Value, "\n\r") {
			return fmt.Errorf("pxelator: machine %v: attribute %q: value spans lines", m.MAC, k)
		}
	}
	if strings.ContainsAny(m.Profile, "\n\r/\\") {
		return fmt.Errorf("pxelator: machine %v: bad profile %q", m.MAC, m.Profile)
	}
	return nil
}

// validHostname accepts "" and RFC 1123 host names (labels of letters,
// digits and hyphens, dots between them).
func validHostname(h string) error {
	if h == "" {
		return nil
	}
	if len(h) > 253 {
		return fmt.Errorf("hostname too long")
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("bad hostname %q", h)
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("bad hostname %q", h)
			}
		}
	}
	return nil
}

// ValidKey reports whether key can name a free attribute: it is safe as a
// file name (letters, digits, '.', '-' and '_', not starting with a dot,
// at most 128 bytes) and is not one of the fields "mac", "hostname" and
// "profile".
func ValidKey(key string) bool { return validKey(key) == nil }

// validKey is ValidKey with the reason.
func validKey(k string) error {
	if k == "" || k[0] == '.' || len(k) > 128 {
		return fmt.Errorf("bad attribute key %q", k)
	}
	for _, c := range []byte(k) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Errorf("bad attribute key %q", k)
		}
	}
	switch k {
	case AttrMAC, AttrHostname, AttrProfile:
		return fmt.Errorf("attribute key %q is a field", k)
	}
	return nil
}

// String returns a one-line description of m with secrets redacted.
func (m Machine) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %v", m.MAC, m.IP)
	if m.Hostname != "" {
		fmt.Fprintf(&b, " hostname=%s", m.Hostname)
	}
	if m.Profile != "" {
		fmt.Fprintf(&b, " profile=%s", m.Profile)
	}
	for k, v := range m.printable() {
		fmt.Fprintf(&b, " %s=%q", k, v)
	}
	return b.String()
}

// Format implements fmt.Formatter so that every verb, %#v included,
// prints the redacted form of String.
func (m Machine) Format(f fmt.State, verb rune) { fmt.Fprint(f, m.String()) }

// LogValue implements slog.LogValuer with secrets redacted.
func (m Machine) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("mac", m.MAC.String()), slog.String("ip", m.IP.String())}
	if m.Hostname != "" {
		attrs = append(attrs, slog.String("hostname", m.Hostname))
	}
	if m.Profile != "" {
		attrs = append(attrs, slog.String("profile", m.Profile))
	}
	for k, v := range m.printable() {
		attrs = append(attrs, slog.String(k, v))
	}
	return slog.GroupValue(attrs...)
}

// printable returns an iterator over the free attributes with the values
// of secrets redacted.
func (m Machine) printable() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for k, a := range m.Attrs() {
			v := a.Value
			if a.Secret {
				v = redacted
			}
			if !yield(k, v) {
				return
			}
		}
	}
}
