package boot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path"
	"strings"
	"time"

	"github.com/pxelator/pxelator"
)

// ErrOutside is the error (matched with errors.Is) of Open and CleanName
// for a name that tries to leave the boot root. It also matches
// fs.ErrPermission; a missing file matches fs.ErrNotExist.
var ErrOutside = fmt.Errorf("boot: name leaves the boot root: %w", fs.ErrPermission)

// Files is a boot root: the static files of a directory (boot loaders,
// kernels, a hand-written pxelinux.cfg/default) and per-machine boot
// configurations rendered from profiles: the machine's own, and the
// "default" profile for a machine that names none (see the package
// documentation for the order). It is safe for concurrent use and must
// not be copied once used; templates are read on every request, so an
// edited template is used by the next boot.
type Files struct {
	// Root is the directory of static files. Nothing outside it is
	// served: a symbolic link is followed only while it stays inside.
	Root string
	// Profiles is the directory of profile templates,
	// Profiles/<profile>/<config>, where <config> is pxelinux.cfg,
	// grub.cfg or boot.ipxe. Empty means only Defaults.
	Profiles string
	// Defaults holds the templates used when Profiles has none for a
	// profile; nil means DefaultProfiles().
	Defaults fs.FS
	// Store finds the machine a per-machine name is for, and records the
	// switch of a machine of profile "once" to "local". Nil means every
	// machine is unknown: only the default profile applies.
	Store pxelator.Store
	// HTTPBase is the URL of the HTTP boot root as clients see it, given
	// to templates as {{.HTTP}}; "{server}" in it is replaced by the
	// address the client reached. Empty means "http://{server}/boot/".
	HTTPBase string
	// Logger receives a line for a file a client asked for that the root
	// lacks (naming the Debian package that ships it, at most once per
	// file every 10 minutes) and for each switch of a once machine; nil
	// means slog.Default().
	Logger *slog.Logger
	// Time returns the current time, for the boot window of the once
	// profile; nil means time.Now.
	Time func() time.Time

	missing missingLog
}

// A Request asks for one file.
type Request struct {
	Name   string     // the name the client asked for, relative to the root
	Client netip.Addr // the client's address, used for names that do not carry one
	Server netip.Addr // the address the client reached, for templates
	// MAC, if set, names the machine for boot.ipxe (iPXE can send
	// ${net0/mac} in an HTTP query); otherwise the client address does.
	MAC net.HardwareAddr
	// Profile, if set, is the profile boot.ipxe is rendered from instead
	// of the machine's own: the default profile's menu asks for
	// boot.ipxe?profile=NAME. A profile without a boot.ipxe template is
	// not found.
	Profile string
}

// A File is an open boot file. It is an fs.File, read from Content.
// Close it after use.
type File struct {
	// Content is the file's bytes: an *os.File for a static file, so
	// that it can be sent with sendfile.
	Content io.ReadSeeker
	Name    string    // the cleaned name
	Size    int64     // its size in bytes
	ModTime time.Time // zero for a rendered configuration
	// Profile and Machine say what a rendered configuration was made
	// from; they are empty for a static file.
	Profile string
	Machine *pxelator.Machine
}

// Close releases the file.
func (f *File) Close() error {
	if c, ok := f.Content.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Read reads from f.Content.
func (f *File) Read(p []byte) (int, error) { return f.Content.Read(p) }

// Stat describes the file: its name, size and modification time.
func (f *File) Stat() (fs.FileInfo, error) { return fileInfo{f}, nil }

// fileInfo is the fs.FileInfo of a File, always a regular file.
type fileInfo struct{ f *File }

func (i fileInfo) Name() string       { return path.Base(i.f.Name) }
func (i fileInfo) Size() int64        { return i.f.Size }
func (i fileInfo) Mode() fs.FileMode  { return 0o444 }
func (i fileInfo) ModTime() time.Time { return i.f.ModTime }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }

// Open returns the file r asks for, the first of:
//   - for a per-machine name (see [ParseMachineName]), the machine's
//     configuration rendered from its profile's template for the name;
//   - the static file of that name in the root;
//   - for boot.ipxe and pxelinux.cfg/default, the template of the
//     "default" profile (so that every machine gets something that
//     runs);
//
// and otherwise an error matching fs.ErrNotExist, logged (see
// Files.Logger) unless the name is one that boot loaders try in turn
// (pxelinux.cfg/01-<mac>, a hex IP, grub.cfg-...).
func (f *Files) Open(ctx context.Context, r Request) (*File, error) {
	name, err := CleanName(r.Name)
	if err != nil {
		return nil, err
	}
	n, perMachine := ParseMachineName(name)
	fallback := isFallbackName(name)
	var c *client
	if perMachine || fallback {
		if fallback {
			n = MachineName{Config: ConfigPXELinux, ByClient: true}
		}
		if c, err = f.client(ctx, name, n, r); err != nil {
			return nil, err
		}
		if !fallback && c.own != "" {
			if file, err := f.render(name, c, c.own, r); file != nil || err != nil {
				return file, err
			}
		}
		if c.own != "" && r.Profile != "" {
			return nil, fmt.Errorf("boot: profile %q has no template for %q: %w", clip(r.Profile), name, fs.ErrNotExist)
		}
	}
	file, err := f.openStatic(name)
	if !errors.Is(err, fs.ErrNotExist) {
		return file, err
	}
	if c != nil && (fallback || n.Config == ConfigIPXE) {
		if file, err := f.render(name, c, ProfileDefault, r); file != nil || err != nil {
			return file, err
		}
	}
	if !perMachine {
		f.missing.log(f.logger(), f.Root, name, f.now())
	}
	return nil, err
}

func (f *Files) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.Default()
	}
	return f.Logger
}

func (f *Files) now() time.Time {
	if f.Time == nil {
		return time.Now()
	}
	return f.Time()
}

// has reports whether the root holds the regular file name.
func (f *Files) has(name string) bool {
	file, err := f.openStatic(name)
	if err != nil {
		return false
	}
	file.Close()
	return true
}

// OpenTFTP opens name for the client at the address client, which reached
// this server at server, as Open does. It is the method of package tftpd's
// Opener: tftpd.OpenerHandler(files) serves f over TFTP.
func (f *Files) OpenTFTP(ctx context.Context, name string, client, server netip.Addr) (fs.File, error) {
	file, err := f.Open(ctx, Request{Name: name, Client: client, Server: server})
	if err != nil {
		return nil, err
	}
	return file, nil
}

// openStatic opens name under f.Root.
func (f *Files) openStatic(name string) (*File, error) {
	if f.Root == "" {
		return nil, fmt.Errorf("boot: %q: %w", name, fs.ErrNotExist)
	}
	file, err := os.OpenInRoot(f.Root, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("boot: %q: %w", name, fs.ErrNotExist)
		}
		if errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("boot: %q: %w", name, fs.ErrPermission)
		}
		// os.Root refuses links and ".." that leave the root with an
		// error of its own.
		return nil, fmt.Errorf("boot: %q: %w", name, ErrOutside)
	}
	st, err := file.Stat()
	if err != nil || !st.Mode().IsRegular() {
		file.Close()
		return nil, fmt.Errorf("boot: %q: not a regular file: %w", name, fs.ErrNotExist)
	}
	return &File{Content: file, Name: name, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// CleanName returns name relative to the boot root, or an error matching
// ErrOutside for a name that tries to leave it: a ".." element, a
// backslash, a NUL or control byte, or a percent-encoded dot, slash,
// backslash or NUL. Leading slashes are dropped: "/pxelinux.0", which
// GRUB and some firmware ask for, is "pxelinux.0" in the root.
func CleanName(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("boot: %q: %s: %w", clip(name), why, ErrOutside)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c < 0x20 || c == 0x7f:
			return bad("control character")
		case c == '\\':
			return bad("backslash")
		case c == '%' && i+2 < len(name):
			switch strings.ToLower(name[i+1 : i+3]) {
			case "2e", "2f", "5c", "00":
				return bad("percent-encoded path character")
			}
		}
	}
	rel := strings.TrimLeft(name, "/")
	for elem := range strings.SplitSeq(rel, "/") {
		if elem == ".." {
			return bad(`".." element`)
		}
	}
	rel = path.Clean(rel)
	if rel == "." || rel == "" {
		return "", fmt.Errorf("boot: %q: no file name: %w", clip(name), fs.ErrNotExist)
	}
	return rel, nil
}

func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// bytesFile is a rendered configuration.
func bytesFile(name string, b []byte, profile string, m pxelator.Machine) *File {
	return &File{Content: bytes.NewReader(b), Name: name, Size: int64(len(b)), Profile: profile, Machine: &m}
}
