package dnsd

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
)

// The fast path answers, straight from the bytes of a UDP query, the
// questions a boot segment asks most: the A record of a machine's name
// and the PTR record of its address. It builds the same reply the full
// path (ServeDNS) builds for them, without unpacking the query into a
// dns.Msg or packing the reply: a header, the question as asked, one
// answer, and an OPT record when the query had one. Every other query
// (another type or class, a name the store does not hold, the zone's
// apex, ns.<zone>, a command, a flag the fast path does not know, a
// reply that would not fit in 512 bytes) takes the full path. A
// differential fuzz target holds the two paths to the same answers.

// fastMaxReply is the largest reply the fast path writes: the UDP size
// every client takes, so that no reply of it needs truncation.
const fastMaxReply = dns.MinMsgSize

// wireName returns the canonical name (lower case, fully qualified) in
// wire format: length-prefixed labels and the root's zero byte.
func wireName(name string) []byte {
	var b []byte
	for label := range strings.SplitSeq(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(label)))
		b = append(b, label...)
	}
	return append(b, 0)
}

// fastZones are the zones of a StoreHandler in wire format, for the fast
// path.
type fastZones struct {
	zone, czone []byte   // "\x03pxe\x00", "\x02do\x03pxe\x00"
	reverse     [][]byte // "\x010\x0210\x07in-addr\x04arpa\x00", ...
}

func newFastZones(zone, czone string, reverse []string) fastZones {
	z := fastZones{zone: wireName(zone), czone: wireName(czone)}
	for _, rz := range reverse {
		z.reverse = append(z.reverse, wireName(rz))
	}
	return z
}

// answerPacket writes to out the reply to the UDP query q from client
// when the fast path can answer it, and returns its length and true;
// otherwise it returns false and the query takes the full path. out must
// hold fastMaxReply bytes.
func (h *StoreHandler) answerPacket(q, out []byte, client net.Addr) (int, bool) {
	const hdr = 12
	if len(q) < hdr+5 {
		return 0, false
	}
	flags := binary.BigEndian.Uint16(q[2:])
	// QR, opcode, AA, TC and Z must be clear (RD, AD and CD may be set);
	// one question and nothing else but an OPT record.
	if flags&0xfe40 != 0 || flags&0x000f != 0 {
		return 0, false
	}
	if binary.BigEndian.Uint16(q[4:]) != 1 || binary.BigEndian.Uint16(q[6:]) != 0 || binary.BigEndian.Uint16(q[8:]) != 0 {
		return 0, false
	}
	arcount := binary.BigEndian.Uint16(q[10:])
	if arcount > 1 {
		return 0, false
	}
	// The question name, lower-cased, and where its labels start.
	var name [255]byte
	var starts [128]int
	nlen, nlabels, off := 0, 0, hdr
	for {
		if off >= len(q) {
			return 0, false
		}
		l := int(q[off])
		if l == 0 {
			name[nlen] = 0
			nlen++
			off++
			break
		}
		if l > 63 || off+1+l > len(q) || nlen+1+l+1 > len(name) {
			return 0, false // a compression pointer, or too long
		}
		starts[nlabels] = nlen
		nlabels++
		name[nlen] = byte(l)
		for i, c := range q[off+1 : off+1+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			default:
				return 0, false // a byte the full path escapes
			}
			name[nlen+1+i] = c
		}
		nlen += 1 + l
		off += 1 + l
	}
	qname := name[:nlen]
	questionEnd := off + 4
	if questionEnd > len(q) {
		return 0, false
	}
	qtype, qclass := binary.BigEndian.Uint16(q[off:]), binary.BigEndian.Uint16(q[off+2:])
	if qclass != dns.ClassINET {
		return 0, false
	}
	edns := arcount == 1
	if edns {
		// OPT: root owner, type 41, version 0; options are not echoed.
		o := questionEnd
		if o+11 > len(q) || q[o] != 0 || binary.BigEndian.Uint16(q[o+1:]) != dns.TypeOPT || q[o+6] != 0 ||
			o+11+int(binary.BigEndian.Uint16(q[o+9:])) != len(q) {
			return 0, false
		}
	} else if questionEnd != len(q) {
		return 0, false
	}

	// The answer's data: an address for A, a name for PTR.
	var rdata [255]byte
	var rdlen int
	var m pxelator.Machine
	ctx := context.Background()
	switch {
	case qtype == dns.TypeA && under(qname, starts[:nlabels], h.fast.zone) > 0 && under(qname, starts[:nlabels], h.fast.czone) < 0:
		host := hostName(qname[:len(qname)-len(h.fast.zone)+1], rdata[:])
		if host == "ns" {
			return 0, false
		}
		var err error
		if m, err = h.store.ByHostname(ctx, host); err != nil {
			return 0, false
		}
		ip := m.IP.As4()
		rdlen = copy(rdata[:], ip[:])
	case qtype == dns.TypePTR && nlabels == 6 && h.reverseOf(qname, starts[:nlabels]):
		var b [4]byte
		for i := range 4 {
			s := starts[i]
			n, ok := octet(qname[s+1 : s+1+int(qname[s])])
			if !ok {
				return 0, false
			}
			b[3-i] = n
		}
		var err error
		if m, err = h.store.ByIP(ctx, netip.AddrFrom4(b)); err != nil || m.Hostname == "" {
			return 0, false
		}
		n, ok := appendWireName(rdata[:0], m.Hostname)
		if !ok || len(n)+len(h.fast.zone)-1 > len(rdata) {
			return 0, false
		}
		rdlen = len(n)
		rdlen += copy(rdata[rdlen:], h.fast.zone)
	default:
		return 0, false
	}

	size := questionEnd + 12 + rdlen
	if edns {
		size += 11
	}
	if size > fastMaxReply || len(out) < size {
		return 0, false
	}
	// Header: the query's id, QR and AA set, RD and CD copied, rcode 0.
	w := copy(out, q[:2])
	binary.BigEndian.PutUint16(out[2:], 0x8400|flags&0x0110)
	binary.BigEndian.PutUint16(out[4:], 1)
	binary.BigEndian.PutUint16(out[6:], 1)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], arcount)
	w += 10
	w += copy(out[w:], q[hdr:questionEnd]) // the question as asked
	// The answer: its owner is the question's name (a pointer to it).
	binary.BigEndian.PutUint16(out[w:], 0xc000|hdr)
	binary.BigEndian.PutUint16(out[w+2:], qtype)
	binary.BigEndian.PutUint16(out[w+4:], dns.ClassINET)
	binary.BigEndian.PutUint32(out[w+6:], h.ttl)
	binary.BigEndian.PutUint16(out[w+10:], uint16(rdlen))
	w += 12
	w += copy(out[w:], rdata[:rdlen])
	if edns {
		out[w] = 0
		binary.BigEndian.PutUint16(out[w+1:], dns.TypeOPT)
		binary.BigEndian.PutUint16(out[w+3:], ednsSize)
		clear(out[w+5 : w+11]) // extended rcode, version 0, no DO, no options
		w += 11
	}
	h.rcodes[dns.RcodeSuccess].Add(1)
	if h.audit != nil {
		fq := query{client: addrOf(client), name: string(canonicalText(qname)), qtype: qtype, machine: m}
		h.record(ctx, &fq, dns.RcodeSuccess)
	}
	return w, true
}

// under reports where zone (in wire format) starts in the name (in wire
// format, with its labels starting at starts): the index of the label,
// -1 when the name is not in zone. 0 is the apex.
func under(name []byte, starts []int, zone []byte) int {
	at := len(name) - len(zone)
	if at < 0 || string(name[at:]) != string(zone) {
		return -1
	}
	for i, s := range starts {
		if s == at {
			return i
		}
	}
	if at == len(name)-1 { // the root zone
		return len(starts)
	}
	return -1
}

// reverseOf reports whether the name (4 octet labels and in-addr.arpa)
// is in one of the handler's reverse zones.
func (h *StoreHandler) reverseOf(name []byte, starts []int) bool {
	for _, rz := range h.fast.reverse {
		if under(name, starts, rz) >= 0 {
			return true
		}
	}
	return false
}

// hostName writes the labels of a wire-format name without its last
// (root) byte as dotted text to buf and returns it as a string.
func hostName(wire []byte, buf []byte) string {
	n := 0
	for i := 0; i < len(wire)-1; {
		l := int(wire[i])
		if n > 0 {
			buf[n] = '.'
			n++
		}
		n += copy(buf[n:], wire[i+1:i+1+l])
		i += 1 + l
	}
	return string(buf[:n])
}

// canonicalText returns the dotted, fully qualified text of a
// wire-format name.
func canonicalText(wire []byte) []byte {
	var b []byte
	for i := 0; wire[i] != 0; {
		l := int(wire[i])
		b = append(b, wire[i+1:i+1+l]...)
		b = append(b, '.')
		i += 1 + l
	}
	if len(b) == 0 {
		return []byte(".")
	}
	return b
}

// appendWireName appends the host name, lower-cased, as wire-format
// labels without the root byte, and reports whether it is a name the
// store could hold.
func appendWireName(b []byte, host string) ([]byte, bool) {
	for label := range strings.SplitSeq(host, ".") {
		if label == "" || len(label) > 63 {
			return b, false
		}
		b = append(b, byte(len(label)))
		for _, c := range []byte(label) {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
	}
	return b, true
}
