package dnsd

import (
	"net"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
)

// packetAnswerer is what the fast path needs of a Handler; StoreHandler
// has it. A Handler wrapped in middleware takes the full path only.
type packetAnswerer interface {
	answerPacket(q, out []byte, client net.Addr) (int, bool)
}

// fastBatch is how many datagrams a fastReader reads (and writes) with one
// system call where the system can (recvmmsg and sendmmsg on Linux).
const fastBatch = 64

// fastReadSize is the largest query a fastReader reads: queries are small,
// and a larger one is cut, as the dns.Server cuts them at its UDPSize.
const fastReadSize = 4096

// packetBatcher reads and writes datagrams in batches:
// golang.org/x/net/ipv4's PacketConn on Linux, one at a time elsewhere.
type packetBatcher interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// A fastReader is the dns.Reader of one of the dns.Servers that serve a
// UDP socket: it reads batches of queries, answers those the handler's
// fast path can answer itself, writes those replies in batches, and hands
// every other query to the dns.Server, which answers it through the
// Handler as usual.
type fastReader struct {
	dns.Reader // for TCP, never used
	fast       packetAnswerer
	conn       packetBatcher
	in         []ipv4.Message
	n, next    int // queries read and the next to look at
	out        []ipv4.Message
	replies    [][]byte
}

func newFastReader(next dns.Reader, fast packetAnswerer, conn packetBatcher) *fastReader {
	r := &fastReader{Reader: next, fast: fast, conn: conn,
		in: make([]ipv4.Message, fastBatch), out: make([]ipv4.Message, 0, fastBatch), replies: make([][]byte, fastBatch)}
	for i := range r.in {
		r.in[i].Buffers = [][]byte{make([]byte, fastReadSize)}
		r.replies[i] = make([]byte, fastMaxReply)
	}
	return r
}

// ReadPacketConn implements dns.PacketConnReader: it returns the next
// query the fast path does not answer.
func (r *fastReader) ReadPacketConn(conn net.PacketConn, timeout time.Duration) ([]byte, net.Addr, error) {
	for {
		for r.next < r.n {
			m := &r.in[r.next]
			r.next++
			q := m.Buffers[0][:m.N]
			buf := r.replies[len(r.out)]
			if n, ok := r.fast.answerPacket(q, buf, m.Addr); ok {
				r.out = append(r.out, ipv4.Message{Buffers: [][]byte{buf[:n]}, Addr: m.Addr})
				continue
			}
			r.flush()
			return append([]byte(nil), q...), m.Addr, nil
		}
		r.flush()
		conn.SetReadDeadline(time.Now().Add(timeout))
		n, err := r.conn.ReadBatch(r.in, 0)
		if err != nil {
			return nil, nil, err
		}
		r.n, r.next = n, 0
	}
}

// flush writes the replies of the fast path. A reply that cannot be sent
// is lost, as a reply of the full path would be; the client asks again.
func (r *fastReader) flush() {
	for len(r.out) > 0 {
		n, err := r.conn.WriteBatch(r.out, 0)
		if err != nil || n == 0 {
			n = 1 // drop the reply the system refused
		}
		r.out = r.out[:copy(r.out, r.out[n:])]
	}
	clear(r.out[:cap(r.out)])
}

// onePacket is a packetBatcher that reads and writes one datagram at a
// time, for systems without recvmmsg and for sockets that are not UDP.
type onePacket struct{ pc net.PacketConn }

func (o onePacket) ReadBatch(ms []ipv4.Message, _ int) (int, error) {
	n, addr, err := o.pc.ReadFrom(ms[0].Buffers[0])
	if err != nil {
		return 0, err
	}
	ms[0].N, ms[0].Addr = n, addr
	return 1, nil
}

func (o onePacket) WriteBatch(ms []ipv4.Message, _ int) (int, error) {
	for i, m := range ms {
		if _, err := o.pc.WriteTo(m.Buffers[0], m.Addr); err != nil {
			return i, err
		}
	}
	return len(ms), nil
}

// packetConn hides that a socket is a *net.UDPConn from the dns.Server,
// so that it reads through the fastReader's ReadPacketConn.
type packetConn struct{ net.PacketConn }
