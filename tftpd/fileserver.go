package tftpd

import (
	"context"
	"errors"
	"io"
	"io/fs"

	"github.com/pxelator/pxelator/boot"
)

// FileServer returns a handler that serves the files under the directory
// root, read-only, reporting each file's size (tsize). Nothing outside
// root is served: names with "..", backslashes, control bytes or
// percent-encoded path characters, and symbolic links that leave root,
// are refused with an access violation; a link that stays inside root is
// followed. A leading slash is dropped: "/pxelinux.0" is root/pxelinux.0.
func FileServer(root string) Handler { return BootServer(&boot.Files{Root: root}) }

// BootServer returns a handler that serves f: per-machine boot
// configurations rendered from the machines' profiles, and static files
// otherwise, as FileServer does.
func BootServer(f *boot.Files) Handler { return &bootServer{f} }

type bootServer struct{ files *boot.Files }

func (b *bootServer) ServeTFTP(ctx context.Context, w ResponseWriter, r *Request) {
	f, err := b.files.Open(ctx, boot.Request{
		Name:   r.Filename,
		Client: r.RemoteAddr.Addr(),
		Server: r.LocalAddr.Addr(),
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.WriteError(CodeNotFound, "file not found")
		return
	case errors.Is(err, boot.ErrOutside):
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
	w.SetSize(f.Size)
	io.Copy(w, f.Content)
}
