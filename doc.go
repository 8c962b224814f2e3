// Package pxelator is the heart of PXElator for Go, a toolkit for booting
// machines from the network and managing them: the [Machine] and the
// [Store] that every protocol package of the module shares.
//
// PXElator re-creates, in Go, a Perl "full stack solution to network
// booting and spawning machines": plug a machine into the network and it
// gets an address, a host name and a boot profile, boots from the network,
// is recorded as plain files that git can track, is powered on and off on
// a schedule, and leaves an audit record of every packet it sends.
//
// # Packages
//
// Each protocol lives in its own package with a handler interface in the
// style of net/http, and a default handler that does the PXElator thing
// from the Store:
//
//   - dhcpd: DHCP and BOOTP with PXE, proxy DHCP
//   - tftpd and boot: TFTP and HTTP boot, per-machine boot configurations
//   - dnsd: DNS names from the store, and names that run commands
//   - syslogd: a syslog receiver that ties every line to a machine
//   - wol, amt, drac: power on, off and cycle through wake-on-LAN, Intel
//     AMT and Dell remote access; power picks one of them from a
//     machine's attributes
//   - schedule and monitor: kiosk on/off times, and pings with up/down
//     alerts and round-trip times in the audit
//   - audit: events, the asynchronous batching recorder, and backends
//     (embedded SQLite or MongoDB) answering ad-hoc queries
//
// The stores of the module implement Store: dirstore keeps machines as
// files, memstore in memory. This package holds only the API: it imports
// nothing outside the standard library, so a protocol package that uses
// a Store links no store engine.
//
// Protocol packages import only this package and audit, never each other;
// cmd/pxelator composes them into the reference server. Test fakes
// live next to what they fake: pxelatortest holds the conformance suite
// every Store passes, audit/audittest an in-memory recorder.
//
// # Machines on disk
//
// A dirstore keeps one directory per machine and one file per value:
//
//	conf/<server-ip>/<machine-ip>/mac        52:54:00:00:0a:3d
//	conf/<server-ip>/<machine-ip>/hostname   kiosk-01
//	conf/<server-ip>/<machine-ip>/profile    debian
//
// A person edits a machine with echo, git diff shows the change, and the
// running server sees it at once. Lookups by MAC, IP and host name are
// answered from memory without allocating; writes are atomic and durable.
// A memstore has the same contract in memory.
package pxelator
