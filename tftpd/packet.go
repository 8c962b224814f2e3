package tftpd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TFTP opcodes (RFC 1350, RFC 2347).
const (
	opRRQ   = 1
	opWRQ   = 2
	opDATA  = 3
	opACK   = 4
	opERROR = 5
	opOACK  = 6
)

// An ErrorCode is the code of a TFTP ERROR packet (RFC 1350, RFC 2347).
type ErrorCode uint16

// Error codes.
const (
	CodeUndefined    ErrorCode = 0 // not defined, see the message
	CodeNotFound     ErrorCode = 1 // file not found
	CodeAccess       ErrorCode = 2 // access violation
	CodeDiskFull     ErrorCode = 3 // disk full or allocation exceeded
	CodeIllegal      ErrorCode = 4 // illegal TFTP operation
	CodeUnknownTID   ErrorCode = 5 // unknown transfer ID
	CodeExists       ErrorCode = 6 // file already exists
	CodeNoUser       ErrorCode = 7 // no such user
	CodeBadOption    ErrorCode = 8 // option negotiation refused (RFC 2347)
	maxMessageLength           = 200
)

// protoError is an error to be answered with an ERROR packet.
type protoError struct {
	Code ErrorCode
	Msg  string
}

func (e *protoError) Error() string { return fmt.Sprintf("tftpd: %s (code %d)", e.Msg, e.Code) }

func errorf(code ErrorCode, format string, args ...any) *protoError {
	return &protoError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// parseRequest parses the packet a client sends to the server port: a read
// or write request with its options (RFC 1350, RFC 2347). Option names are
// folded to lower case; for a repeated option the first value wins. The
// returned *protoError says what to answer, errIgnore that a packet gets
// no answer at all (an ERROR packet).
func parseRequest(b []byte) (op uint16, r *Request, err *protoError) {
	if len(b) < 2 {
		return 0, nil, errorf(CodeIllegal, "truncated packet of %d bytes", len(b))
	}
	op = binary.BigEndian.Uint16(b)
	switch op {
	case opRRQ, opWRQ:
	case opERROR:
		return op, nil, errIgnore
	default:
		return op, nil, errorf(CodeIllegal, "unexpected opcode %d on the request port", op)
	}
	body := b[2:]
	if len(body) == 0 || body[len(body)-1] != 0 {
		return op, nil, errorf(CodeIllegal, "malformed request: not NUL-terminated")
	}
	fields := bytes.Split(body[:len(body)-1], []byte{0})
	if len(fields) < 2 {
		return op, nil, errorf(CodeIllegal, "malformed request: no transfer mode")
	}
	r = &Request{Filename: string(fields[0])}
	if r.Filename == "" {
		return op, nil, errorf(CodeIllegal, "malformed request: empty file name")
	}
	switch mode := strings.ToLower(string(fields[1])); mode {
	case "octet", "netascii":
		r.Mode = mode
	default:
		return op, nil, errorf(CodeIllegal, "unsupported transfer mode %q", clip(mode))
	}
	for i := 2; i+1 < len(fields); i += 2 {
		name := strings.ToLower(string(fields[i]))
		if name == "" { // padding some clients send
			continue
		}
		if r.Options == nil {
			r.Options = make(map[string]string)
		}
		if _, dup := r.Options[name]; !dup {
			r.Options[name] = string(fields[i+1])
		}
	}
	return op, r, nil
}

// errIgnore marks a packet that gets no answer.
var errIgnore = &protoError{Code: CodeUndefined, Msg: "ignored"}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 32 {
		s = s[:32] + "..."
	}
	return strings.ToValidUTF8(s, "?")
}

// params are the negotiated parameters of one transfer.
type params struct {
	blksize    int
	windowsize int
	timeout    time.Duration
	tsize      bool // the client asked for the transfer size
	timeoutOpt int  // the accepted timeout option in seconds, 0 if none
}

// limits bound what a client may negotiate.
type limits struct {
	maxBlksize, maxWindow int
	timeout               time.Duration // when the client asks for none
	maxTimeout            time.Duration // the largest it may ask for
}

// Option ranges (RFC 2348, RFC 7440, RFC 2349).
const (
	minBlksize    = 8
	maxBlksize    = 65464
	maxWindowsize = 65535
	defaultBlock  = 512
	// maxWindowBytes bounds a window's data: with blksize 65464 a
	// window is at most 4 blocks.
	maxWindowBytes = 256 << 10
)

// negotiate validates the options of r against l. Options the server does
// not know are ignored (RFC 2347); a known option with a value out of its
// range is refused with code 8, except that blksize and windowsize above
// the server's limits are lowered to them (RFC 2348, RFC 7440), and
// windowsize further so that a window holds at most 256 KiB, and that a
// timeout above the server's bound is not acknowledged (RFC 2349).
func negotiate(opts map[string]string, l limits) (params, *protoError) {
	p := params{blksize: defaultBlock, windowsize: 1, timeout: l.timeout}
	if v, ok := opts["blksize"]; ok {
		n, err := atoi(v)
		if err != nil || n < minBlksize {
			return p, errorf(CodeBadOption, "blksize %q out of range %d-%d", clip(v), minBlksize, maxBlksize)
		}
		p.blksize = min(n, l.maxBlksize)
	}
	if v, ok := opts["windowsize"]; ok {
		n, err := atoi(v)
		if err != nil || n < 1 {
			return p, errorf(CodeBadOption, "windowsize %q out of range 1-%d", clip(v), maxWindowsize)
		}
		p.windowsize = min(n, l.maxWindow)
	}
	// Bound the memory a window holds for resending.
	p.windowsize = max(1, min(p.windowsize, maxWindowBytes/p.blksize))
	if v, ok := opts["timeout"]; ok {
		// RFC 2349: 1-255 seconds; an unacceptable value, one above the
		// server's bound among them, is left out of the OACK.
		if n, err := atoi(v); err == nil && n >= 1 && n <= 255 && time.Duration(n)*time.Second <= l.maxTimeout {
			p.timeout = time.Duration(n) * time.Second
			p.timeoutOpt = n
		}
	}
	if _, ok := opts["tsize"]; ok {
		p.tsize = true
	}
	return p, nil
}

// atoi parses a decimal option value of at most 9 digits.
func atoi(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number %q", s)
		}
	}
	return strconv.Atoi(s)
}

// appendOACK appends the OACK for p to b, with size as tsize when the
// client asked for it and size >= 0. It returns b unchanged when there is
// nothing to acknowledge.
func appendOACK(b []byte, opts map[string]string, p params, size int64) []byte {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, opOACK)
	n := len(b)
	add := func(name, value string) {
		b = append(b, name...)
		b = append(b, 0)
		b = append(b, value...)
		b = append(b, 0)
	}
	if _, ok := opts["blksize"]; ok {
		add("blksize", strconv.Itoa(p.blksize))
	}
	if p.tsize && size >= 0 {
		add("tsize", strconv.FormatInt(size, 10))
	}
	if p.timeoutOpt > 0 {
		add("timeout", strconv.Itoa(p.timeoutOpt))
	}
	if _, ok := opts["windowsize"]; ok {
		add("windowsize", strconv.Itoa(p.windowsize))
	}
	if len(b) == n {
		return b[:start]
	}
	return b
}

// appendError appends an ERROR packet to b.
func appendError(b []byte, code ErrorCode, msg string) []byte {
	if len(msg) > maxMessageLength {
		msg = msg[:maxMessageLength]
	}
	msg = strings.ToValidUTF8(strings.ReplaceAll(msg, "\x00", ""), "?")
	b = binary.BigEndian.AppendUint16(b, opERROR)
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	b = append(b, msg...)
	return append(b, 0)
}
