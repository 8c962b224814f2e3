package tftpd

import (
	"context"
	"fmt"
	"io"
	"net/netip"
)

// A Request is a read request received by a [Server].
type Request struct {
	// Filename is the file name exactly as the client sent it.
	Filename string
	// Mode is "octet" or "netascii", in lower case.
	Mode string
	// Options holds the options the client asked for (RFC 2347), with
	// names in lower case. The server answers blksize, tsize, timeout and
	// windowsize itself.
	Options map[string]string
	// RemoteAddr is the client's address and port.
	RemoteAddr netip.AddrPort
	// LocalAddr is the address the request was sent to: on a server
	// listening on a wildcard address, the interface address the client
	// reached. Its address is invalid when the system does not say.
	LocalAddr netip.AddrPort
}

// A ResponseWriter sends a file to the client of one read request.
//
// The data written is split into blocks of the negotiated block size and
// sent in windows of the negotiated window size; Write blocks while the
// window is full. The transfer ends with a short block when the handler
// returns. A ResponseWriter also implements io.ReaderFrom, which reads
// a file in large chunks rather than a block at a time.
type ResponseWriter interface {
	io.Writer
	// SetSize sets the transfer size the server reports when the client
	// asks for it (the tsize option). It has an effect only before the
	// first Write.
	SetSize(n int64)
	// WriteError ends the transfer with an ERROR packet. Before the first
	// Write it is how a handler refuses a request.
	WriteError(code ErrorCode, msg string)
}

// A Handler responds to a TFTP read request.
//
// ServeTFTP writes the file to w and returns; the transfer is complete
// when the client has acknowledged the last block, which the server waits
// for after ServeTFTP returns. ctx is canceled when the transfer fails or
// the server shuts down.
type Handler interface {
	ServeTFTP(ctx context.Context, w ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to a [Handler].
type HandlerFunc func(ctx context.Context, w ResponseWriter, r *Request)

// ServeTFTP calls f(ctx, w, r).
func (f HandlerFunc) ServeTFTP(ctx context.Context, w ResponseWriter, r *Request) { f(ctx, w, r) }

// Error refuses or aborts a transfer with an ERROR packet carrying code
// and the formatted message.
func Error(w ResponseWriter, code ErrorCode, format string, args ...any) {
	w.WriteError(code, fmt.Sprintf(format, args...))
}

// NotFound answers with a "file not found" ERROR packet.
func NotFound(ctx context.Context, w ResponseWriter, r *Request) {
	w.WriteError(CodeNotFound, "file not found")
}

// NotFoundHandler returns a handler that answers every request with
// "file not found".
func NotFoundHandler() Handler { return HandlerFunc(NotFound) }
