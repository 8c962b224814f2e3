package syslogd

import (
	"bytes"
	"fmt"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct{ name, raw string }{
		{"rfc3164", "<6>Nov 24 11:30:56 kiosk-01 kernel: [    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)"},
		{"rfc5424", `<165>1 2026-11-24T11:30:56.003Z kiosk-01 app 42 ID7 [timeQuality tzKnown="1" isSynced="0"] Linux version 6.1.0-56-amd64`},
		{"malformed", "this line is not syslog at all, but it is kept"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			p := newParser()
			raw := []byte(bm.raw)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				var m Message
				p.parse(&m, raw)
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
