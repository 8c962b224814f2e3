// Package boot is the library of network-boot files, not a protocol
// server: [Files] is a boot root, the static files of a directory (boot
// loaders, kernels, a hand-written pxelinux.cfg/default) and per-machine
// boot configurations rendered from text/template profiles. The protocol
// servers send them: [Files.OpenTFTP] is the method of package tftpd's
// Opener, so tftpd.OpenerHandler(files) serves them over TFTP without
// either package importing the other, and [HTTPHandler] serves them over
// HTTP for iPXE and UEFI HTTP boot.
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
// them. A machine's "profile.once" attribute ([pxelator.AttrProfileOnce])
// overrides its profile for one configuration and is then removed from
// the store: the next boot only.
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
// [HTTPHandler] serves the same names over HTTP with Content-Length,
// ranges and conditional requests, never redirects, logs every request to
// its Logger (nil: slog.Default()) and records it through its Recorder
// (nil: no audit), the field names of the protocol packages. It serves the
// request path without its leading slash; mount it under a prefix with
// http.StripPrefix. The reference server uses /boot/:
//
//	mux.Handle("/boot/", http.StripPrefix("/boot", &boot.HTTPHandler{Files: files}))
package boot
