// Package tftpd is a TFTP server for network boot, in the style of
// net/http: a [Handler] answers read requests, a [HandlerFunc] adapts a
// function, a [ServeMux] routes them by file name, and a [Server] runs the
// protocol.
//
// It follows the module's conventions for protocol packages (README,
// Contributing): [Server.ServePacket] serves a UDP socket (TFTP has no
// stream transport, so there is no Serve), [Server.ListenAndServe]
// listens on Server.Addr, and [Server.Shutdown] stops reading requests,
// waits for the running transfers until its context is done and then
// aborts them; after it, ServePacket and ListenAndServe return
// [ErrServerClosed]. Server.Logger (nil: slog.Default()) gets one line per
// transfer and Server.Recorder (nil: no audit) one event. Package
// [github.com/pxelator/pxelator/tftpd/tftptest] holds a server on a
// loopback port and a scripted client for tests.
//
// The server speaks RFC 1350 with the option extension (RFC 2347) and the
// options blksize (RFC 2348), tsize and timeout (RFC 2349) and windowsize
// (RFC 7440): clients that ask for a window (UEFI firmware, u-boot, atftp)
// get many blocks per acknowledgement. Block numbers roll over after
// 65535, so files of any size can be sent. Write requests are refused.
//
// [FileServer] serves a directory read-only; nothing outside it is
// served. [OpenerHandler] serves the files of any [Opener], the small
// interface this package asks of a file source: package boot's Files is
// one, rendering per-machine boot configurations (pxelinux.cfg/01-<mac>,
// GRUB's grub.cfg-01-<mac>, iPXE scripts) from each machine's profile in a
// pxelator.Store, and the reference server wires it in. This package does
// not import boot.
//
// Each transfer has its own socket, closed when the transfer ends,
// whether it succeeded, timed out or the client went away. The server
// bounds concurrent transfers (Server.MaxTransfers), ignores a client's
// retransmitted request while its transfer runs, and asks for a large
// receive buffer so that a boot storm's requests wait in the kernel rather
// than being lost. A request proves nothing about its source address, so
// what it may cost is bounded until the client answers: a timeout option
// above Server.MaxClientTimeout (10 s) is not acknowledged, and a
// transfer's window buffers and read buffer (up to 320 KiB) are made only
// once the client has acknowledged the OACK, or the first block when
// there is no OACK (which is then 512 bytes). Every transfer is logged and, with a Recorder, audited:
// client, file, bytes, duration and outcome.
//
// On Linux, while fewer transfers run than GOMAXPROCS, each waits for its
// client in a blocking system call on its own thread, which in lockstep
// over a fast link takes a good part off each block's round trip; beyond
// that, transfers share the runtime's network poller, so that a boot
// storm of hundreds of clients needs no more threads than processors.
//
// # Why not the library's server
//
// github.com/pin/tftp/v3's client is used in the tests, but its server
// cannot negotiate windowsize or timeout, answers every failure with
// error code 1, and gives handlers neither a context nor the addresses of
// the request; the sender here is small enough to own.
package tftpd
