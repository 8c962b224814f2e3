// Package serve holds what the protocol servers of this module (dhcpd,
// tftpd, dnsd, syslogd) share to stop, so that each writes only its
// protocol: a [Tracker] of the sockets being served and the work in
// flight, closed and waited for by Shutdown, and [Listen], which opens a
// UDP socket and a TCP listener on one port.
package serve
