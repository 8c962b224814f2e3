package tftpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"strings"
)

// An Opener opens the files that the handler [OpenerHandler] makes of it
// sends: a directory (see [FileServer]), or a source that renders a file
// for the machine asking, such as the boot.Files of package boot.
type Opener interface {
	// OpenTFTP opens the file name, exactly as the client at the address
	// client asked for it from the server address server (invalid when
	// unknown). An error matching fs.ErrNotExist is answered with "file
	// not found", one matching fs.ErrPermission with an access
	// violation, any other with its text. The file is sent with the size
	// its Stat reports, and closed when the transfer ends.
	OpenTFTP(ctx context.Context, name string, client, server netip.Addr) (fs.File, error)
}

// OpenerHandler returns a handler that sends the files o opens,
// reporting each file's size (tsize). Only regular files are sent: a
// directory is "file not found".
func OpenerHandler(o Opener) Handler { return &openerHandler{o} }

type openerHandler struct{ o Opener }

// errOutside is the error of a name that leaves a FileServer's root.
var errOutside = fmt.Errorf("tftpd: name leaves the root: %w", fs.ErrPermission)

func (h *openerHandler) ServeTFTP(ctx context.Context, w ResponseWriter, r *Request) {
	f, err := h.o.OpenTFTP(ctx, r.Filename, r.RemoteAddr.Addr(), r.LocalAddr.Addr())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.WriteError(CodeNotFound, "file not found")
		return
	case errors.Is(err, errOutside):
		w.WriteError(CodeAccess, "access violation: name leaves the boot root")
		return
	case errors.Is(err, fs.ErrPermission):
		w.WriteError(CodeAccess, "access violation")
		return
	case err != nil:
		w.WriteError(CodeUndefined, err.Error())
		return
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		w.WriteError(CodeUndefined, "cannot stat the file")
		return
	case !st.Mode().IsRegular():
		w.WriteError(CodeNotFound, "file not found")
		return
	}
	w.SetSize(st.Size())
	io.Copy(w, f)
}

// FileServer returns a handler that serves the files under the directory
// root, read-only, reporting each file's size (tsize). Nothing outside
// root is served: a name is cleaned (path.Clean, leading slashes
// dropped: "/pxelinux.0" is root/pxelinux.0), one that still climbs out
// ("../secret", "a/../../secret") is refused with an access violation,
// and the file is opened through an [os.Root], so a symbolic link is
// followed only while it stays inside root; one that leaves is refused
// with an access violation too.
func FileServer(root string) Handler { return OpenerHandler(dirOpener(root)) }

// dirOpener opens the files under a directory.
type dirOpener string

func (d dirOpener) OpenTFTP(ctx context.Context, name string, client, server netip.Addr) (fs.File, error) {
	rel := path.Clean(strings.TrimLeft(name, "/"))
	if rel == "." {
		return nil, fmt.Errorf("tftpd: %q: no file name: %w", name, fs.ErrNotExist)
	}
	if !fs.ValidPath(rel) { // it begins with ".."
		return nil, fmt.Errorf("tftpd: %q: %w", name, errOutside)
	}
	root, err := os.OpenRoot(string(d))
	if err != nil {
		return nil, fmt.Errorf("tftpd: root: %w", err)
	}
	defer root.Close() // the files opened stay open
	f, err := root.FS().Open(rel)
	switch {
	case err == nil:
		return f, nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("tftpd: %w", err)
	default: // os.Root refuses a link that leaves the root with an error of its own
		return nil, fmt.Errorf("tftpd: %q: %w", name, errOutside)
	}
}
