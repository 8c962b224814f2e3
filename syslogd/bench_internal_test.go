package syslogd

import (
	"bytes"
	"fmt"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	const kernel = "<6>Nov 24 11:30:56 kiosk-01 kernel: [    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)"
	for _, bm := range []struct {
		name string
		raws []string // parsed in turn
	}{
		// Headers that change from one message to the next are parsed
		// every time; a repeated one once.
		{"rfc3164", []string{kernel, "<30>Nov 24 11:30:57 kiosk-01 systemd[1]: Started Journal Service (pid 1234, user root)."}},
		{"rfc3164-same-header", []string{kernel}},
		{"rfc5424", []string{`<165>1 2026-11-24T11:30:56.003Z kiosk-01 app 42 ID7 [timeQuality tzKnown="1" isSynced="0"] Linux version 6.1.0-56-amd64`}},
		{"malformed", []string{"this line is not syslog at all, but it is kept"}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			p := newParser()
			var raws [][]byte
			for _, r := range bm.raws {
				raws = append(raws, []byte(r))
			}
			b.SetBytes(int64(len(raws[0])))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var m Message
				p.parse(&m, raws[i%len(raws)])
				i++
			}
		})
	}
}

func BenchmarkFrameReader(b *testing.B) {
	const msg = "<6>Nov 24 11:30:56 kiosk-01 kernel: [    0.000000] Linux version 6.1.0-56-amd64"
	var lines, counted bytes.Buffer
	for range 1000 {
		lines.WriteString(msg + "\n")
		fmt.Fprintf(&counted, "%d %s", len(msg), msg)
	}
	for _, bm := range []struct {
		name string
		in   []byte
	}{{"newline", lines.Bytes()}, {"octet-counting", counted.Bytes()}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(bm.in)))
			b.ReportAllocs()
			for b.Loop() {
				fr := newFrameReader(bytes.NewReader(bm.in), tcpBufferSize, DefaultMaxMessageSize)
				n := 0
				for {
					if _, err := fr.next(); err != nil {
						break
					}
					n++
				}
				if n != 1000 {
					b.Fatalf("%d frames", n)
				}
			}
		})
	}
}
