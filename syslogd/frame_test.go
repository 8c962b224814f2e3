package syslogd

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

type wantFrame struct {
	data       string
	cut, short bool
}

// readFrames reads every frame of in with a reader of the given buffer
// and message sizes.
func readFrames(t testing.TB, r io.Reader, bufSize, max int) ([]wantFrame, error) {
	fr := newFrameReader(r, bufSize, max)
	var got []wantFrame
	for {
		f, err := fr.next()
		if err != nil {
			return got, err
		}
		if len(f.data) > max {
			t.Fatalf("frame of %d bytes, max %d", len(f.data), max)
		}
		got = append(got, wantFrame{string(f.data), f.cut, f.short})
		if len(got) > 1<<20 {
			t.Fatal("too many frames")
		}
	}
}

func TestFrameReader(t *testing.T) {
	long := strings.Repeat("x", 40)
	tests := []struct {
		name string
		in   string
		max  int
		want []wantFrame
		err  error
	}{
		{name: "empty", in: "", want: nil},
		{name: "lines", in: "<13>a\n<13>b\r\n\n<13>c\n", want: []wantFrame{{data: "<13>a"}, {data: "<13>b"}, {data: "<13>c"}}},
		{name: "last line without LF", in: "<13>a\n<13>b", want: []wantFrame{{data: "<13>a"}, {data: "<13>b", short: true}}},
		{name: "octet counted", in: "5 <13>a3 <1>", want: []wantFrame{{data: "<13>a"}, {data: "<1>"}}},
		{name: "octet counted with LF after", in: "5 <13>a\n3 <1>\r\n", want: []wantFrame{{data: "<13>a"}, {data: "<1>"}}},
		{name: "octet counted keeps LF inside", in: "7 <13>a\nb", want: []wantFrame{{data: "<13>a\nb"}}},
		{name: "mixed framings", in: "<13>line\n5 <13>a<14>x\n", want: []wantFrame{{data: "<13>line"}, {data: "<13>a"}, {data: "<14>x"}}},
		{name: "digits that are no length", in: "2024-01-01 boot\n", want: []wantFrame{{data: "2024-01-01 boot"}}},
		{name: "too many digits", in: "12345678901 x\n", want: []wantFrame{{data: "12345678901 x"}}},
		{name: "length prefix then EOF", in: "10 ", err: io.ErrUnexpectedEOF},
		{name: "length prefix, short message", in: "10 <13>", want: []wantFrame{{data: "<13>", short: true}}, err: io.ErrUnexpectedEOF},
		{name: "digits then EOF", in: "12", want: []wantFrame{{data: "12", short: true}}},
		{name: "line cut at max", in: long + "\n<1>b\n", max: 16, want: []wantFrame{{data: long[:16], cut: true}, {data: "<1>b"}}},
		{name: "line of exactly max", in: long[:16] + "\n", max: 16, want: []wantFrame{{data: long[:16]}}},
		{name: "octet count over max", in: "40 " + long + "3 <1>", max: 16, want: []wantFrame{{data: long[:16], cut: true}, {data: "<1>"}}},
		{name: "NUL bytes kept", in: "<13>a\x00b\n", want: []wantFrame{{data: "<13>a\x00b"}}},
		{name: "invalid UTF-8 kept", in: "<13>\xff\xfe\n", want: []wantFrame{{data: "<13>\xff\xfe"}}},
	}
	for _, tt := range tests {
		max := tt.max
		if max == 0 {
			max = 1024
		}
		for _, r := range []struct {
			name string
			r    io.Reader
		}{
			{"whole", strings.NewReader(tt.in)},
			{"byte by byte", iotest.OneByteReader(strings.NewReader(tt.in))},
		} {
			t.Run(tt.name+"/"+r.name, func(t *testing.T) {
				// A 16-byte buffer makes long lines span several reads.
				got, err := readFrames(t, r.r, 16, max)
				want := tt.err
				if want == nil {
					want = io.EOF
				}
				if !errors.Is(err, want) {
					t.Errorf("error %v, want %v", err, want)
				}
				if len(got) != len(tt.want) {
					t.Fatalf("frames %+v, want %+v", got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("frame %d: %+v, want %+v", i, got[i], tt.want[i])
					}
				}
			})
		}
	}
}

// FuzzFrameOctetCounting feeds streams that start in octet-counting
// framing (RFC 6587 section 3.4.1). The frame reader must not panic, hang
// or return a message over the maximum, and a stream built from
// well-formed frames must come back frame by frame.
func FuzzFrameOctetCounting(f *testing.F) {
	f.Add([]byte("5 <13>a3 <1>"), []byte("<14>1 2026-11-24T11:00:00Z host app - - - hi"))
	f.Add([]byte("999999999999 x"), []byte("\x00\xff"))
	f.Add([]byte("40 "+strings.Repeat("y", 40)), []byte("\n"))
	f.Add([]byte("3 \n\n\n"), []byte("12"))
	f.Fuzz(func(t *testing.T, stream, msg []byte) {
		fuzzFrames(t, stream)
		// A well-formed octet-counted frame round-trips.
		if len(msg) == 0 || len(msg) > 64 {
			return
		}
		in := []byte(strconv.Itoa(len(msg)) + " ")
		in = append(in, msg...)
		got, err := readFrames(t, bytes.NewReader(in), 16, 64)
		if !errors.Is(err, io.EOF) || len(got) != 1 || got[0].data != string(msg) || got[0].cut || got[0].short {
			t.Fatalf("octet frame %q: got %+v, %v", in, got, err)
		}
	})
}

// FuzzFrameNonTransparent feeds streams in newline framing (RFC 6587
// section 3.4.2). Lines that start like a syslog message and hold no LF
// must come back unchanged.
func FuzzFrameNonTransparent(f *testing.F) {
	f.Add([]byte("<13>a\n<13>b\r\n\n<13>c"), []byte("Nov 24 11:00:00 host app: hi"))
	f.Add([]byte(strings.Repeat("z", 100)+"\n"), []byte("\xff\x00"))
	f.Add([]byte("12 <1>\n"), []byte("a\rb"))
	f.Fuzz(func(t *testing.T, stream, line []byte) {
		fuzzFrames(t, stream)
		if len(line) > 64 || bytes.ContainsAny(line, "\n\r") {
			return
		}
		in := append([]byte("<13>"), line...)
		in = append(in, '\n')
		got, err := readFrames(t, bytes.NewReader(in), 16, 68)
		if !errors.Is(err, io.EOF) || len(got) != 1 || got[0].data != string(in[:len(in)-1]) {
			t.Fatalf("line %q: got %+v, %v", in, got, err)
		}
	})
}

// fuzzFrames checks the invariants of any stream: frames within max,
// ending in an error, and every message also parsed without panic.
func fuzzFrames(t *testing.T, stream []byte) {
	p := newParser()
	for _, bufSize := range []int{16, 4096} {
		got, err := readFrames(t, bytes.NewReader(stream), bufSize, 32)
		if err == nil {
			t.Fatal("no error at the end of the stream")
		}
		for _, f := range got {
			var m Message
			p.parse(&m, []byte(f.data))
			if m.Raw != f.data {
				t.Fatalf("raw %q, want %q", m.Raw, f.data)
			}
		}
	}
}
