package tftpd

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"
)

func rq(op uint16, fields ...string) []byte {
	b := binary.BigEndian.AppendUint16(nil, op)
	for _, f := range fields {
		b = append(append(b, f...), 0)
	}
	return b
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name     string
		pkt      []byte
		wantOp   uint16
		wantFile string
		wantOpts map[string]string
		wantCode ErrorCode // 0xffff: no error
		ignore   bool
	}{
		{"plain", rq(1, "pxelinux.0", "octet"), 1, "pxelinux.0", nil, 0xffff, false},
		{"mode case", rq(1, "a", "OCTET"), 1, "a", nil, 0xffff, false},
		{"netascii", rq(1, "a", "netascii"), 1, "a", nil, 0xffff, false},
		{"options folded", rq(1, "f", "octet", "BLKSIZE", "1468", "tsize", "0", "windowsize", "8"), 1, "f",
			map[string]string{"blksize": "1468", "tsize": "0", "windowsize": "8"}, 0xffff, false},
		{"first duplicate wins", rq(1, "f", "octet", "blksize", "1024", "blksize", "8"), 1, "f",
			map[string]string{"blksize": "1024"}, 0xffff, false},
		{"padding", append(rq(1, "f", "octet"), 0, 0, 0), 1, "f", nil, 0xffff, false},
		{"dangling option name", rq(1, "f", "octet", "blksize"), 1, "f", nil, 0xffff, false},
		{"write request", rq(2, "f", "octet"), 2, "f", nil, 0xffff, false},
		{"empty", nil, 0, "", nil, CodeIllegal, false},
		{"one byte", []byte{0}, 0, "", nil, CodeIllegal, false},
		{"opcode only", []byte{0, 1}, 1, "", nil, CodeIllegal, false},
		{"no NUL", []byte("\x00\x01file\x00octet"), 1, "", nil, CodeIllegal, false},
		{"no mode", rq(1, "file"), 1, "", nil, CodeIllegal, false},
		{"empty name", rq(1, "", "octet"), 1, "", nil, CodeIllegal, false},
		{"mail mode", rq(1, "f", "mail"), 1, "", nil, CodeIllegal, false},
		{"data on request port", []byte{0, 3, 0, 1, 'x'}, 3, "", nil, CodeIllegal, false},
		{"ack on request port", []byte{0, 4, 0, 1}, 4, "", nil, CodeIllegal, false},
		{"unknown opcode", []byte{0, 99, 1, 2}, 99, "", nil, CodeIllegal, false},
		{"error is not answered", []byte{0, 5, 0, 0, 'x', 0}, 5, "", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, r, err := parseRequest(tt.pkt)
			if tt.ignore {
				if err != errIgnore {
					t.Fatalf("err = %v, want errIgnore", err)
				}
				return
			}
			if tt.wantCode != 0xffff {
				if err == nil || err.Code != tt.wantCode {
					t.Fatalf("err = %v, want code %d", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if op != tt.wantOp || r.Filename != tt.wantFile {
				t.Errorf("op %d file %q, want %d %q", op, r.Filename, tt.wantOp, tt.wantFile)
			}
			if len(r.Options) != len(tt.wantOpts) {
				t.Errorf("options %v, want %v", r.Options, tt.wantOpts)
			}
			for k, v := range tt.wantOpts {
				if r.Options[k] != v {
					t.Errorf("option %s = %q, want %q", k, r.Options[k], v)
				}
			}
		})
	}
}

func TestNegotiate(t *testing.T) {
	l := limits{maxBlksize: 65464, maxWindow: 64, timeout: time.Second, maxTimeout: 10 * time.Second}
	tests := []struct {
		opts     map[string]string
		want     params
		wantCode ErrorCode
		oack     string // the OACK's options, NUL as '|'
	}{
		{nil, params{blksize: 512, windowsize: 1, timeout: time.Second}, 0, ""},
		{map[string]string{"blksize": "1468", "tsize": "0"}, params{blksize: 1468, windowsize: 1, timeout: time.Second, tsize: true}, 0, "blksize|1468|tsize|4096|"},
		{map[string]string{"blksize": "70000"}, params{blksize: 65464, windowsize: 1, timeout: time.Second}, 0, "blksize|65464|"},
		{map[string]string{"windowsize": "1000"}, params{blksize: 512, windowsize: 64, timeout: time.Second}, 0, "windowsize|64|"},
		{map[string]string{"windowsize": "64", "blksize": "65464"}, params{blksize: 65464, windowsize: 4, timeout: time.Second}, 0, "blksize|65464|windowsize|4|"},
		{map[string]string{"timeout": "3"}, params{blksize: 512, windowsize: 1, timeout: 3 * time.Second, timeoutOpt: 3}, 0, "timeout|3|"},
		{map[string]string{"timeout": "0"}, params{blksize: 512, windowsize: 1, timeout: time.Second}, 0, ""},
		{map[string]string{"timeout": "256"}, params{blksize: 512, windowsize: 1, timeout: time.Second}, 0, ""},
		{map[string]string{"timeout": "255"}, params{blksize: 512, windowsize: 1, timeout: time.Second}, 0, ""}, // above maxTimeout
		{map[string]string{"timeout": "10"}, params{blksize: 512, windowsize: 1, timeout: 10 * time.Second, timeoutOpt: 10}, 0, "timeout|10|"},
		{map[string]string{"multicast": ""}, params{blksize: 512, windowsize: 1, timeout: time.Second}, 0, ""},
		{map[string]string{"blksize": "0"}, params{}, CodeBadOption, ""},
		{map[string]string{"blksize": "7"}, params{}, CodeBadOption, ""},
		{map[string]string{"blksize": "-1"}, params{}, CodeBadOption, ""},
		{map[string]string{"blksize": "99999999999999999999"}, params{}, CodeBadOption, ""},
		{map[string]string{"windowsize": "0"}, params{}, CodeBadOption, ""},
		{map[string]string{"windowsize": "x"}, params{}, CodeBadOption, ""},
	}
	for _, tt := range tests {
		p, err := negotiate(tt.opts, l)
		if tt.wantCode != 0 {
			if err == nil || err.Code != tt.wantCode {
				t.Errorf("negotiate(%v): err %v, want code %d", tt.opts, err, tt.wantCode)
			}
			continue
		}
		if err != nil || p != tt.want {
			t.Errorf("negotiate(%v) = %+v, %v; want %+v", tt.opts, p, err, tt.want)
			continue
		}
		oack := appendOACK(nil, tt.opts, p, 4096)
		got := ""
		if len(oack) > 0 {
			got = strings.ReplaceAll(string(oack[2:]), "\x00", "|")
		}
		if got != tt.oack {
			t.Errorf("negotiate(%v): OACK %q, want %q", tt.opts, got, tt.oack)
		}
	}
}

func TestAppendError(t *testing.T) {
	b := appendError(nil, CodeAccess, "no\x00way"+strings.Repeat("x", 300))
	if !bytes.HasPrefix(b, []byte{0, 5, 0, 2, 'n', 'o', 'w', 'a', 'y'}) || b[len(b)-1] != 0 || bytes.Count(b, []byte{0}) != 3 {
		t.Errorf("appendError = %q", b)
	}
	if len(b) > 4+maxMessageLength+1 {
		t.Errorf("message not clipped: %d bytes", len(b))
	}
}

// FuzzParseRequest feeds arbitrary packets to the request parser and the
// option negotiation: they must never panic, and what they accept must
// survive a round trip.
func FuzzParseRequest(f *testing.F) {
	f.Add(rq(1, "pxelinux.0", "octet"))
	f.Add(rq(1, "pxelinux.cfg/01-52-54-00-12-34-56", "octet", "blksize", "1468", "tsize", "0", "windowsize", "8", "timeout", "1"))
	f.Add(rq(2, "upload", "netascii"))
	f.Add(rq(1, "f", "octet", "blksize", "0", "windowsize", "0"))
	f.Add(rq(1, "f", "octet", "blksize", "70000"))
	f.Add([]byte{0, 1})
	f.Add([]byte{0, 5, 0, 1, 0})
	f.Add([]byte{0, 99})
	f.Add([]byte("\x00\x01../../etc/passwd\x00octet\x00"))
	f.Fuzz(func(t *testing.T, pkt []byte) {
		op, r, err := parseRequest(pkt)
		if err != nil {
			if err != errIgnore && len(appendError(nil, err.Code, err.Msg)) > 4+maxMessageLength+1 {
				t.Fatalf("error packet too long")
			}
			return
		}
		if op != opRRQ && op != opWRQ {
			t.Fatalf("accepted opcode %d", op)
		}
		if r.Filename == "" || (r.Mode != "octet" && r.Mode != "netascii") {
			t.Fatalf("accepted %+v", r)
		}
		p, perr := negotiate(r.Options, limits{maxBlksize: 65464, maxWindow: 64, timeout: time.Second})
		if perr != nil {
			return
		}
		if p.blksize < 8 || p.blksize > 65464 || p.windowsize < 1 || p.windowsize > 64 || p.windowsize > 1 && p.windowsize*p.blksize > 256<<10 || p.timeout <= 0 {
			t.Fatalf("negotiated %+v from %v", p, r.Options)
		}
		_ = appendOACK(nil, r.Options, p, 1)
	})
}
