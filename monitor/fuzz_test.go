package monitor

import (
	"bytes"
	"testing"
)

func TestParseEcho(t *testing.T) {
	reply := appendEcho(nil, icmpEchoReply, 0x1234, 7, []byte("payload"))
	bad := bytes.Clone(reply)
	bad[9] ^= 1
	for _, tc := range []struct {
		name  string
		in    []byte
		check bool
		ok    bool
	}{
		{"reply", reply, true, true},
		{"request", appendEcho(nil, icmpEchoRequest, 1, 2, nil), true, true},
		{"bad checksum, checked", bad, true, false},
		{"bad checksum, not checked", bad, false, true},
		{"short", reply[:7], false, false},
		{"destination unreachable", []byte{3, 1, 0, 0, 0, 0, 0, 0}, false, false},
		{"echo with a code", []byte{0, 1, 0, 0, 0, 0, 0, 0}, false, false},
		{"empty", nil, false, false},
	} {
		e, ok := ParseEcho(tc.in, tc.check)
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.name, ok, tc.ok)
		}
		if tc.name == "reply" && (e.ID != 0x1234 || e.Seq != 7 || string(e.Payload) != "payload") {
			t.Errorf("reply parsed as %+v", e)
		}
	}
	if checksum(reply) != 0 {
		t.Error("the checksum of a marshalled message does not verify")
	}
}

// FuzzParseEcho feeds ICMP messages as they come off a raw socket, which
// anyone on the network can send.
func FuzzParseEcho(f *testing.F) {
	f.Add(appendEcho(nil, icmpEchoReply, 0x1234, 7, make([]byte, payloadLen)), true)
	f.Add(appendEcho(nil, icmpEchoRequest, 1, 65535, []byte("x")), false)
	f.Add([]byte{3, 3, 0xfc, 0xfc, 0, 0, 0, 0, 0x45, 0, 0, 28}, true)
	f.Add([]byte{0, 0, 0xff}, true)
	f.Fuzz(func(t *testing.T, b []byte, check bool) {
		e, ok := ParseEcho(b, check)
		if !ok {
			return
		}
		if len(b) < 8 || e.Type != icmpEchoReply && e.Type != icmpEchoRequest || len(e.Payload) != len(b)-8 {
			t.Fatalf("accepted %x as %+v", b, e)
		}
		// What parses marshals back to a message that verifies.
		again := appendEcho(nil, e.Type, e.ID, e.Seq, e.Payload)
		if _, ok := ParseEcho(again, true); !ok || !bytes.Equal(again[4:], b[4:]) {
			t.Fatalf("%x marshals back as %x", b, again)
		}
	})
}
