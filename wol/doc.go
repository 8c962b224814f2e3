// Package wol wakes machines with Wake-on-LAN magic packets.
//
// A [Client] sends the magic packet built by github.com/mdlayher/wol either
// as a UDP datagram to a subnet-directed broadcast address (port 9, the
// discard port, by default; port 7, echo, on request) or as a raw Ethernet
// frame of EtherType 0x0842 on a named interface. A SecureOn password of 4
// or 6 bytes may be appended to the packet ([ParsePassword] reads one).
//
// Wake-on-LAN can only switch a machine on: a Client has the power
// vocabulary of the amt and drac packages (On, Off, SoftOff, Cycle,
// Reset, PowerState), and every operation but On returns an error that
// wraps [ErrUnsupported] (which wraps [errors.ErrUnsupported]).
// PowerState returns [pxelator.PowerUnknown] with such an error, since a
// magic packet is never answered.
//
// Every packet sent is recorded through the optional [audit.Recorder] as
// package "wol", action "wake", and logged at debug level to the Logger;
// the SecureOn password never is.
package wol
