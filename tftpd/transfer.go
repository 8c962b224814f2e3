package tftpd

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// transfer is the sending side of one read request: the ResponseWriter a
// handler writes to. It keeps the blocks of the current window so that
// they can be sent again, and speaks RFC 1350 lockstep (windowsize 1) or
// RFC 7440 windows.
type transfer struct {
	ctx     context.Context
	cancel  context.CancelFunc // cancels ctx when the transfer ends
	conn    peerConn           // connected to the client's address and port
	req     *Request
	p       params
	retries int

	size    int64 // from SetSize, -1 when unknown
	started bool  // the OACK or the first block has been sent
	done    bool  // the transfer has ended, err says how
	err     error
	code    ErrorCode // the code of the ERROR packet sent, if any

	slots [][]byte // window buffers: block b is in slots[b%len(slots)]
	fill  int      // bytes of data in the block being filled
	// Block numbers count from 1 and do not wrap; the wire carries them
	// modulo 65536.
	filled    uint64 // the last block completely filled
	sent      uint64 // the last block sent
	acked     uint64 // the last block acknowledged
	final     uint64 // the last block of the file, once filled
	finalLen  int    // its length with the header
	resentFor uint64 // the block an early retransmission started from
	tries     int    // consecutive timeouts
	deadline  time.Time
	bytes     int64        // data bytes written by the handler
	resent    int          // blocks sent again
	answered  *atomic.Bool // set when a packet from the client arrives
	acked1    bool         // an ACK has come: the client is at its address
	rbuf      []byte
	ascii     []byte   // netascii scratch
	pkts      [][]byte // the packets of a window being sent
}

// newTransfer returns the transfer of r. Its window buffers are made by
// block once the transfer has started: after the client acknowledged the
// OACK, when there is one, which proves that the client's address asked
// for it. Without an OACK the first block (512 bytes) is made and sent at
// once, as RFC 1350 has it.
func newTransfer(ctx context.Context, cancel context.CancelFunc, conn peerConn, r *Request, p params, retries int) *transfer {
	return &transfer{ctx: ctx, cancel: cancel, conn: conn, req: r, p: p, retries: retries, size: -1, rbuf: make([]byte, 1024)}
}

// makeSlots makes the window buffers.
func (t *transfer) makeSlots() {
	t.slots = make([][]byte, t.p.windowsize)
	for i := range t.slots {
		t.slots[i] = make([]byte, 4+t.p.blksize)
	}
}

// readChunk is the size of the reads ReadFrom makes: large enough for
// few system calls, small enough that a storm's transfers do not make
// the garbage collector work hard.
const readChunk = 64 << 10

var errTimeout = errors.New("tftpd: client stopped answering")

// clientError is an ERROR packet from the client: PXE firmware sends one
// after an OACK when it only wanted the file's size.
type clientError struct {
	Code ErrorCode
	Msg  string
}

func (e *clientError) Error() string {
	return fmt.Sprintf("tftpd: client ended the transfer with error %d: %s", e.Code, e.Msg)
}

// SetSize implements ResponseWriter.
func (t *transfer) SetSize(n int64) {
	if !t.started && n >= 0 && t.req.Mode == "octet" {
		t.size = n
	}
}

// WriteError implements ResponseWriter.
func (t *transfer) WriteError(code ErrorCode, msg string) {
	if t.done {
		return
	}
	t.abort(code, msg)
}

// abort sends an ERROR packet and ends the transfer.
func (t *transfer) abort(code ErrorCode, msg string) {
	t.conn.write(appendError(t.rbuf[:0:0], code, msg))
	t.code = code
	t.end(&protoError{Code: code, Msg: msg})
}

func (t *transfer) end(err error) {
	t.done = true
	t.cancel()
	if t.err == nil {
		t.err = err
	}
}

// Write implements io.Writer.
func (t *transfer) Write(p []byte) (int, error) {
	if t.req.Mode == "netascii" {
		return t.writeASCII(p)
	}
	return t.write(p)
}

func (t *transfer) write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		buf, err := t.block()
		if err != nil {
			return n, err
		}
		c := copy(buf[4+t.fill:], p)
		t.fill += c
		t.bytes += int64(c)
		n += c
		p = p[c:]
		if err := t.blockFilled(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// writeASCII converts p to netascii: LF becomes CR LF, a bare CR
// becomes CR NUL (RFC 764).
func (t *transfer) writeASCII(p []byte) (int, error) {
	out := t.ascii[:0]
	for _, c := range p {
		switch {
		case c == '\n':
			out = append(out, '\r', '\n')
		case c == '\r':
			out = append(out, '\r', 0)
		default:
			out = append(out, c)
		}
	}
	t.ascii = out[:0]
	if _, err := t.write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ReadFrom implements io.ReaderFrom, reading straight into the blocks.
func (t *transfer) ReadFrom(r io.Reader) (int64, error) {
	if t.req.Mode == "netascii" {
		return io.Copy(struct{ io.Writer }{t}, r)
	}
	// Read many blocks per system call: once the client has acknowledged
	// a packet, the file is read in large chunks and copied into the
	// packets.
	_, buffered := r.(*bufio.Reader)
	var n int64
	for {
		buf, err := t.block()
		if err != nil {
			return n, err
		}
		if !buffered && t.acked1 {
			chunk := readChunk
			if t.size >= 0 && t.size-n < readChunk {
				chunk = int(t.size-n) + 1 // room to see the end of the file
			}
			r, buffered = bufio.NewReaderSize(r, chunk), true
		}
		c, rerr := io.ReadFull(r, buf[4+t.fill:])
		t.fill += c
		t.bytes += int64(c)
		n += int64(c)
		if err := t.blockFilled(); err != nil {
			return n, err
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return n, nil
		}
		if rerr != nil {
			t.abort(CodeUndefined, "read error")
			return n, fmt.Errorf("tftpd: reading %q: %w", t.req.Filename, rerr)
		}
	}
}

// block returns the buffer of the block being filled, first starting the
// transfer and waiting for room in the window.
func (t *transfer) block() ([]byte, error) {
	if t.done {
		return nil, t.err
	}
	if !t.started {
		if err := t.start(); err != nil {
			return nil, err
		}
		t.makeSlots()
	}
	for t.filled-t.acked >= uint64(len(t.slots)) {
		if err := t.await(); err != nil {
			return nil, err
		}
	}
	return t.slot(t.filled + 1), nil
}

// blockFilled sends the block being filled when it is full.
func (t *transfer) blockFilled() error {
	if t.fill < t.p.blksize {
		return nil
	}
	return t.push()
}

// push completes the block being filled and sends it. A block shorter
// than blksize is the last one.
func (t *transfer) push() error {
	t.filled++
	buf := t.slot(t.filled)
	binary.BigEndian.PutUint16(buf[0:], opDATA)
	binary.BigEndian.PutUint16(buf[2:], uint16(t.filled))
	if t.fill < t.p.blksize {
		t.final, t.finalLen = t.filled, 4+t.fill
	}
	t.fill = 0
	if t.filled == t.final || t.filled-t.acked >= uint64(len(t.slots)) {
		return t.send(t.sent+1, t.filled) // a full window, or the end
	}
	return nil
}

func (t *transfer) slot(b uint64) []byte { return t.slots[b%uint64(len(t.slots))] }

// send sends the blocks from through to, a window at most, with as few
// system calls as the platform allows (sendmmsg on Linux).
func (t *transfer) send(from, to uint64) error {
	if from > to {
		return nil
	}
	t.sent = max(t.sent, to)
	t.deadline = time.Now().Add(t.p.timeout)
	if from == to {
		return t.sendErr(t.conn.write(t.packet(from)))
	}
	t.pkts = t.pkts[:0]
	for b := from; b <= to; b++ {
		t.pkts = append(t.pkts, t.packet(b))
	}
	return t.sendErr(t.conn.writeBatch(t.pkts))
}

// packet returns block b as it goes on the wire.
func (t *transfer) packet(b uint64) []byte {
	buf := t.slot(b)
	if b == t.final {
		buf = buf[:t.finalLen]
	}
	return buf
}

// start sends the OACK, if any option was accepted, and waits for its
// acknowledgement (block 0).
func (t *transfer) start() error {
	t.started = true
	oack := appendOACK(nil, t.req.Options, t.p, t.size)
	if len(oack) == 0 {
		return nil
	}
	for send := true; ; {
		if send {
			t.deadline = time.Now().Add(t.p.timeout)
			if err := t.conn.write(oack); err != nil {
				return t.sendErr(err)
			}
		}
		ack, err := t.readAck()
		if err != nil {
			return err
		}
		if ack == 0 {
			t.tries = 0
			return nil
		}
		send = ack < 0
	}
}

// readAck waits for an ACK and returns its block number, or -1 after a
// timeout that still allows a retry. Packets that are not ACKs do not
// extend the deadline set when the last packet was sent, so a client
// that keeps sending wrong packets still times out.
func (t *transfer) readAck() (int, error) {
	for {
		if err := t.ctx.Err(); err != nil {
			t.abort(CodeUndefined, "server shutting down")
			return 0, err
		}
		n, err := t.conn.read(t.rbuf, time.Until(t.deadline))
		if err != nil {
			if err == errInterrupted {
				continue // the context is done
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.tries++
				if t.tries > t.retries {
					t.abort(CodeUndefined, "timeout")
					return 0, errTimeout
				}
				return -1, nil
			}
			return 0, t.sendErr(err)
		}
		if n < 4 {
			continue
		}
		t.answered.Store(true)
		switch binary.BigEndian.Uint16(t.rbuf) {
		case opACK:
			t.acked1 = true
			return int(binary.BigEndian.Uint16(t.rbuf[2:])), nil
		case opERROR:
			msg := t.rbuf[4:n]
			if i := indexNUL(msg); i >= 0 {
				msg = msg[:i]
			}
			err := &clientError{Code: ErrorCode(binary.BigEndian.Uint16(t.rbuf[2:])), Msg: clip(string(msg))}
			t.end(err)
			return 0, err
		}
	}
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// await waits for one ACK or timeout and acts on it: an ACK inside the
// window slides it and resends what followed a lost block (RFC 7440); a
// timeout resends the window.
func (t *transfer) await() error {
	ack, err := t.readAck()
	if err != nil {
		return err
	}
	if ack < 0 { // timeout: send the unacknowledged blocks again
		return t.resend()
	}
	k := t.acked + uint64(uint16(ack)-uint16(t.acked))
	switch {
	case k > t.sent: // an old ACK from before a wrap, or one ahead of what was sent
		return nil
	case k == t.acked:
		// A duplicate. In lockstep it is ignored (the Sorcerer's
		// Apprentice bug); with windows it says the block after it was
		// lost, so the window is sent again, once per position.
		if len(t.slots) > 1 && t.sent > t.acked && t.resentFor != t.acked+1 {
			t.resentFor = t.acked + 1
			return t.resend()
		}
		return nil
	}
	t.acked = k
	t.tries = 0
	if k < t.sent { // the client missed block k+1: start a new window there
		t.resentFor = k + 1
		return t.resend()
	}
	return nil
}

// resend sends the unacknowledged blocks again.
func (t *transfer) resend() error {
	t.resent += int(t.sent - t.acked)
	return t.send(t.acked+1, t.sent)
}

// finish sends the last, short block and waits until every block is
// acknowledged.
func (t *transfer) finish() error {
	if t.done {
		return t.err
	}
	if _, err := t.block(); err != nil {
		return err
	}
	if err := t.push(); err != nil {
		return err
	}
	for t.acked < t.sent {
		if err := t.await(); err != nil {
			return err
		}
	}
	t.done = true
	return nil
}

// sendErr turns a send or receive error into the end of the transfer. A
// refused connection means the client's port is closed: it went away.
func (t *transfer) sendErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		err = fmt.Errorf("tftpd: client went away: %w", err)
	} else if !errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("tftpd: %w", err)
	}
	t.end(err)
	return err
}
