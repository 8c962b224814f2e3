// Package boot serves network-boot files: the static files of a boot root
// (boot loaders, kernels, a hand-written pxelinux.cfg/default) and
// per-machine boot configurations rendered from text/template profiles,
// for TFTP (package tftpd uses it) and over HTTP for iPXE and UEFI HTTP
// boot.
//
// # Per-machine configurations
//
// A machine's "profile" attribute in the [pxelator.Store] names a
// directory of templates, <Profiles>/<profile>/, holding one template per
// kind of configuration:
//
//	pxelinux.cfg   answers pxelinux.cfg/01-<mac> and pxelinux.cfg/<HEXIP> (and its shortened forms)
//	grub.cfg       answers grub.cfg-01-<mac> and grub.cfg-<HEXIP>
//	boot.ipxe      answers boot.ipxe, for the machine at the client's address
//
// Templates are read on every request: an edited template, or a changed
// profile in the store, is what the machine boots next, without a
// restart. When the machine is unknown, has no profile, or its profile has
// no template for the name, the static file of the same name is served,
// so a hand-written pxelinux.cfg/default still answers every other
// machine. Templates missing from the profiles directory are taken from
// the embedded [DefaultProfiles] ("local" and "linux"), so a fresh
// installation boots. Templates see [Data]; machine secrets never reach
// them.
//
// # Safety
//
// Nothing outside the root is served: [CleanName] refuses "..",
// backslashes, control bytes and percent-encoded path characters, and
// files are opened with [os.Root], so a symbolic link is followed only
// while its target stays inside the root.
//
// # HTTP
//
// [Handler] serves the same names over HTTP with Content-Length, ranges
// and conditional requests, never redirects, and records every request
// through an optional audit.Recorder. It serves the request path without
// its leading slash; mount it under a prefix with http.StripPrefix. The
// reference server uses /boot/:
//
//	mux.Handle("/boot/", http.StripPrefix("/boot", &boot.Handler{Files: files}))
package boot
