package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPrepareBootDirs(t *testing.T) {
	dir := t.TempDir()
	root, profiles := filepath.Join(dir, "tftpboot"), filepath.Join(dir, "profiles")
	if err := prepareBootDirs(root, profiles); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		t.Fatalf("root not created: %v", err)
	}
	tmpl := filepath.Join(profiles, "linux", "pxelinux.cfg")
	if _, err := os.Stat(tmpl); err != nil {
		t.Fatalf("default templates not written: %v", err)
	}
	if err := os.WriteFile(tmpl, []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareBootDirs(root, profiles); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(tmpl); string(b) != "edited" {
		t.Errorf("an edited template was overwritten: %q", b)
	}
}

func TestHTTPBase(t *testing.T) {
	for addr, want := range map[string]string{
		":80":           "http://{server}/boot/",
		"":              "http://{server}/boot/",
		":8080":         "http://{server}:8080/boot/",
		"10.0.0.1:8080": "http://{server}:8080/boot/",
		"[::1]:80":      "http://{server}/boot/",
	} {
		if got := httpBase(addr); got != want {
			t.Errorf("httpBase(%q) = %q, want %q", addr, got, want)
		}
	}
}
