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
// restart. Templates missing from the profiles directory are taken from
// the embedded [DefaultProfiles], so a fresh installation boots. Templates
// see [Data]; machine secrets never reach them. Each embedded template
// says in its comments which variables and attributes it uses.
//
// # Every machine boots
//
// [Files.Open] answers, in this order: the machine's own configuration
// (from its profile's template for the name), the static file of that
// name (a hand-written pxelinux.cfg/default still answers every machine
// without a profile), and, for boot.ipxe and pxelinux.cfg/default, the
// [ProfileDefault] profile. So a machine the store does not know, one
// without a profile, or one whose profile has no boot.ipxe, gets a script
// that runs: it chains pxelinux.0 on BIOS when there is a pxelinux
// configuration for the machine, GRUB on UEFI when there is a grub.cfg,
// and otherwise shows an iPXE menu of the profiles (boot.ipxe?profile=NAME,
// see [Request].Profile), which boots "local" after 10 seconds. The names
// boot loaders try in turn (pxelinux.cfg/01-<mac>, the hex IP and its
// prefixes, grub.cfg-...) never fall back to the default profile, so that
// pxelinux goes on to pxelinux.cfg/default.
//
// A file a client asks for that the root lacks is a log line naming the
// file and, for the boot loaders of [Loaders], the Debian package that
// ships it; one line per file in 10 minutes, however often it is asked.
//
// # Profiles a user starts from
//
//	default   what a machine without a profile boots (above)
//	linux     vmlinuz and initrd.gz of the root; attribute cmdline
//	kiosk     a live system over HTTP, Debian Live style (boot=live fetch=...): live/ in the root; kiosk.url, live.dir
//	rescue    Debian's installer in rescue mode: debian-installer/amd64/ of Debian's netboot.tar.gz; rescue.dir
//	once      once.profile one time, then local: see [ProfileOnce] for what one boot is
//	local     the local disk
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
