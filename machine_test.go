package pxelator_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/pxelator/pxelator"
)

func testMachine(t *testing.T) pxelator.Machine {
	t.Helper()
	mac, err := pxelator.ParseMAC("52:54:00:00:0a:3d")
	if err != nil {
		t.Fatal(err)
	}
	return pxelator.Machine{MAC: mac, IP: netip.MustParseAddr("10.77.0.61")}
}

// TestMachineSet sets the well-known keys and a free one: the fields take
// the well-known ones, Get reads them back, and Validate judges the result.
func TestMachineSet(t *testing.T) {
	tests := []struct {
		key, value string
		get        string // what Get(key) returns afterwards
		field      func(pxelator.Machine) string
		keys       []string // the free attributes afterwards
		valid      bool
	}{
		{"mac", "52:54:00:12:34:56", "52:54:00:12:34:56", func(m pxelator.Machine) string { return m.MAC.String() }, nil, true},
		{"mac", " 52-54-00-12-34-AB ", "52:54:00:12:34:ab", func(m pxelator.Machine) string { return m.MAC.String() }, nil, true},
		{"mac", "not-a-mac", "", func(m pxelator.Machine) string { return m.MAC.String() }, nil, false},
		{"mac", "", "", func(m pxelator.Machine) string { return m.MAC.String() }, nil, false},
		{"hostname", "kiosk-01", "kiosk-01", func(m pxelator.Machine) string { return m.Hostname }, nil, true},
		{"hostname", "bad name", "bad name", func(m pxelator.Machine) string { return m.Hostname }, nil, false},
		{"hostname", "", "", func(m pxelator.Machine) string { return m.Hostname }, nil, true},
		{"profile", "debian", "debian", func(m pxelator.Machine) string { return m.Profile }, nil, true},
		{"profile", "../etc", "../etc", func(m pxelator.Machine) string { return m.Profile }, nil, false},
		{"kiosk.on", "07:30", "07:30", func(m pxelator.Machine) string { return m.Get("kiosk.on") }, []string{"kiosk.on"}, true},
		{"kiosk.on", "", "", func(m pxelator.Machine) string { return m.Get("kiosk.on") }, nil, true},
		{"../escape", "x", "x", func(m pxelator.Machine) string { return m.Get("../escape") }, []string{"../escape"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			m := testMachine(t)
			m.Set(tt.key, tt.value)
			if got := m.Get(tt.key); got != tt.get {
				t.Errorf("Get(%q) = %q, want %q", tt.key, got, tt.get)
			}
			if got := tt.field(m); got != tt.get {
				t.Errorf("field after Set(%q, %q) = %q, want %q", tt.key, tt.value, got, tt.get)
			}
			if got := m.Keys(); !slices.Equal(got, tt.keys) {
				t.Errorf("Keys() = %q, want %q", got, tt.keys)
			}
			if err := m.Validate(); (err == nil) != tt.valid {
				t.Errorf("Validate() = %v, want valid %v", err, tt.valid)
			}
		})
	}
}

func TestMachineSetMACUnparsable(t *testing.T) {
	m := testMachine(t)
	m.Set(pxelator.AttrMAC, "52:54:00:zz:00:01")
	if m.MAC != nil {
		t.Errorf("MAC after setting garbage = %v, want nil", m.MAC)
	}
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "no MAC") {
		t.Errorf("Validate() = %v, want no MAC address", err)
	}
}

func TestMachineAttrs(t *testing.T) {
	m := testMachine(t)
	m.Set("kiosk.on", "07:30")
	m.SetSecret("amt.password", "hunter2")
	m.Set("amt.address", "10.77.1.1")
	var got []string
	for k, a := range m.Attrs() {
		got = append(got, fmt.Sprintf("%s=%s/%v", k, a.Value, a.Secret))
	}
	want := []string{"amt.address=10.77.1.1/false", "amt.password=hunter2/true", "kiosk.on=07:30/false"}
	if !slices.Equal(got, want) {
		t.Errorf("Attrs() = %q, want %q", got, want)
	}
	for k := range m.Attrs() { // stopping early
		if k != "amt.address" {
			t.Errorf("first attribute = %q", k)
		}
		break
	}
}

func TestValidKey(t *testing.T) {
	for key, want := range map[string]bool{
		"kiosk.on": true, "amt.password": true, "a_b-c.9": true,
		"": false, ".hidden": false, "a/b": false, `a\b`: false, "..": false,
		"mac": false, "hostname": false, "profile": false, strings.Repeat("k", 129): false,
	} {
		if got := pxelator.ValidKey(key); got != want {
			t.Errorf("ValidKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestMachineSecretsNotPrinted(t *testing.T) {
	m := testMachine(t)
	m.SetSecret("amt.password", "hunter2")
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("machine", "m", m)
	for name, out := range map[string]string{
		"String": m.String(), "%v": fmt.Sprintf("%v", m), "%+v": fmt.Sprintf("%+v", m),
		"%#v": fmt.Sprintf("%#v", m), "slog": logged.String(),
	} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s prints the secret: %s", name, out)
		}
		if !strings.Contains(out, "amt.password") {
			t.Errorf("%s does not name the secret attribute: %s", name, out)
		}
	}
}

// TestSecretByName: keys named *.password, *.secret and *.token are
// secrets however they are set, so that a password set with Set (as a
// file of mode 0644 is read) is never printed.
func TestSecretByName(t *testing.T) {
	for key, want := range map[string]bool{
		"amt.password": true, "drac.password": true, "api.secret": true, "web.token": true,
		"password": true, "secret": true, "token": true, "AMT.Password": true,
		"amt.address": false, "amt.username": false, "passwords": false, "kiosk.on": false,
		"token.count": false, "amt.password-hint": false,
	} {
		if got := pxelator.SecretKey(key); got != want {
			t.Errorf("SecretKey(%q) = %v, want %v", key, got, want)
		}
	}
	m := testMachine(t)
	m.Set("amt.password", "hunter2")
	m.Set("web.token", "tok-3141")
	if a, ok := m.Attr("amt.password"); !ok || !a.Secret || a.Value != "hunter2" {
		t.Errorf("Attr(amt.password) after Set = %+v, %v; want a secret", a, ok)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("machine", "m", m)
	for name, out := range map[string]string{"String": m.String(), "%v": fmt.Sprint(m), "slog": logged.String()} {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "tok-3141") {
			t.Errorf("%s prints a secret set with Set: %s", name, out)
		}
	}
	for k, a := range m.Attrs() {
		if !a.Secret {
			t.Errorf("Attrs: %s is not a secret", k)
		}
	}
	// Nor does an error about it.
	m.Set("amt.password", "hunter2\nsecond line")
	if err := m.Validate(); err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "amt.password") {
		t.Errorf("Validate() = %v: want an error naming the attribute, not its value", err)
	}
}
