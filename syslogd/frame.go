package syslogd

import (
	"bufio"
	"errors"
	"io"
)

// frame is one message cut from a TCP stream.
type frame struct {
	data []byte // valid until the next call of next
	cut  bool   // longer than the maximum: data is its first max bytes
	// short reports that the stream ended or failed inside the message:
	// data is what arrived.
	short bool
}

// maxLenDigits bounds the digits of an octet count; a longer run of digits
// is taken as the start of a newline-terminated message.
const maxLenDigits = 10

// frameReader splits a TCP stream into syslog messages, detecting the RFC
// 6587 framing of every message: octet counting ("LEN SP MSG") when the
// message starts with a digit 1-9, digits and a space; otherwise
// non-transparent framing, a message ending at LF. Empty lines between
// messages are skipped. Messages longer than max are cut to max bytes and
// the rest is discarded, so that memory stays bounded.
type frameReader struct {
	r   *bufio.Reader
	max int
	buf []byte
	// begin is called, when not nil, once the first byte of a message
	// has arrived, and end when the message is complete.
	begin, end func()
	err        error // the error that ended a short frame, returned next
}

func newFrameReader(r io.Reader, bufSize, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, bufSize), max: max}
}

// next returns the next message. At the end of the stream it returns
// io.EOF, or the read error. A frame with short set may come with a nil
// error; the error follows on the next call.
func (f *frameReader) next() (frame, error) {
	if f.err != nil {
		return frame{}, f.err
	}
	// Skip the LF (or CR LF) some senders put after an octet-counted
	// message, and empty lines.
	for {
		c, err := f.r.ReadByte()
		if err != nil {
			return frame{}, err
		}
		if c != '\n' && c != '\r' {
			f.r.UnreadByte()
			break
		}
	}
	if f.begin != nil {
		f.begin()
	}
	fr, err := f.read()
	if f.end != nil {
		f.end()
	}
	if err != nil {
		if len(fr.data) > 0 || fr.cut {
			// Keep what arrived; the error comes with the next call.
			fr.short = true
			f.err = err
			return fr, nil
		}
		return frame{}, err
	}
	return fr, nil
}

func (f *frameReader) read() (frame, error) {
	f.buf = f.buf[:0]
	c, _ := f.r.ReadByte() // there is one: next unread it
	if c < '1' || c > '9' {
		f.r.UnreadByte()
		return f.line()
	}
	n := int64(c - '0')
	f.buf = append(f.buf, c)
	for {
		c, err := f.r.ReadByte()
		if err != nil {
			return frame{data: f.buf}, err
		}
		if c == ' ' {
			break
		}
		if c < '0' || c > '9' || len(f.buf) == maxLenDigits {
			// Not a length: a message that starts with digits.
			f.r.UnreadByte()
			return f.line()
		}
		f.buf = append(f.buf, c)
		n = n*10 + int64(c-'0')
	}
	return f.counted(n)
}

// counted reads a message of n octets.
func (f *frameReader) counted(n int64) (frame, error) {
	keep := int(min(n, int64(f.max)))
	f.buf = grow(f.buf[:0], keep)
	got, err := io.ReadFull(f.r, f.buf[:keep])
	fr := frame{data: f.buf[:got], cut: n > int64(keep)}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.ErrUnexpectedEOF
		}
		return fr, err
	}
	for rest := n - int64(keep); rest > 0; {
		d, err := f.r.Discard(int(min(rest, 1<<30)))
		if err != nil {
			return fr, err
		}
		rest -= int64(d)
	}
	return fr, nil
}

// line reads a message up to LF, after the bytes in f.buf that were read
// already. The LF and a CR before it are not part of the message.
func (f *frameReader) line() (frame, error) {
	total := len(f.buf) // length of the line so far, kept or not
	for {
		chunk, err := f.r.ReadSlice('\n')
		if total == 0 && err == nil {
			// The whole line is in the reader's buffer: no copy.
			d := trimLF(chunk)
			if len(d) > f.max {
				return frame{data: d[:f.max], cut: true}, nil
			}
			return frame{data: d}, nil
		}
		if err == nil {
			chunk = trimLF(chunk)
		}
		if room := f.max - len(f.buf); room > 0 {
			f.buf = append(f.buf, chunk[:min(room, len(chunk))]...)
		}
		total += len(chunk)
		fr := frame{data: f.buf, cut: total > f.max}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return fr, err
		}
	}
}

func trimLF(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// grow returns b with room for n bytes.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
