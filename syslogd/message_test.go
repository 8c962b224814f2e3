package syslogd

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		format  Format
		pri     int
		host    string
		app     string
		pid     string
		text    string
		ts      string // RFC 3339, "" for none
		sd      string // one SD-ID that must be there
		malform bool
	}{
		{name: "rfc3164 kernel", raw: "<6>Nov 24 11:30:56 kiosk-01 kernel: Linux version 6.1.0", format: FormatRFC3164,
			pri: 6, host: "kiosk-01", app: "kernel", text: "Linux version 6.1.0"},
		{name: "rfc3164 pid", raw: "<30>Jan  5 07:30:00 kiosk-01 systemd[1]: Started.", format: FormatRFC3164,
			pri: 30, host: "kiosk-01", app: "systemd", pid: "1", text: "Started."},
		{name: "rfc3164 trailing LF", raw: "<13>Nov 24 11:30:56 h t: x\n", format: FormatRFC3164, pri: 13, host: "h", app: "t", text: "x"},
		{name: "rfc5424", raw: `<165>1 2026-11-24T11:30:56.003Z kiosk-01 app 42 ID7 [exampleSDID@32473 iut="3"] hello`, format: FormatRFC5424,
			pri: 165, host: "kiosk-01", app: "app", pid: "42", text: "hello", ts: "2026-11-24T11:30:56.003Z", sd: "exampleSDID@32473"},
		{name: "rfc5424 nil values", raw: "<14>1 - - - - - -", format: FormatRFC5424, pri: 14},
		{name: "ISO time without zone (loggen)", raw: "<38>2026-11-24T11:48:28 localhost prg00000[1234]: seq: 0000000000, thread: 0000", format: FormatRFC3164,
			pri: 38, host: "localhost", app: "prg00000", pid: "1234", text: "seq: 0000000000, thread: 0000"},
		{name: "ISO time without zone, fraction", raw: "<38>2026-11-24T11:48:28.25 h a: x\x00y", format: FormatRFC3164, pri: 38, host: "h", app: "a", text: "x\x00y"},
		{name: "no priority", raw: "just some text", malform: true, pri: -1},
		{name: "empty", raw: "", malform: true, pri: -1},
		{name: "bad priority", raw: "<999>Nov 24 11:30:56 h t: x", malform: true, pri: -1},
		{name: "NUL bytes", raw: "<13>Nov 24 11:30:56 h t: a\x00b", format: FormatRFC3164, pri: 13, host: "h", app: "t", text: "a\x00b"},
		{name: "control characters", raw: "<13>Nov 24 11:30:56 h t: a\x01\x7f\x1bb", format: FormatRFC3164, pri: 13, host: "h", app: "t", text: "a\x01\x7f\x1bb"},
		{name: "invalid UTF-8", raw: "<13>Nov 24 11:30:56 h t: \xff\xfe", format: FormatRFC3164, pri: 13, host: "h", app: "t", text: "\xff\xfe"},
	}
	p := newParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			p.parse(&m, []byte(tt.raw))
			if m.Raw != tt.raw {
				t.Errorf("Raw %q, want %q", m.Raw, tt.raw)
			}
			if (m.Err != nil) != tt.malform {
				t.Fatalf("Err %v, want malformed %v", m.Err, tt.malform)
			}
			if tt.malform {
				return
			}
			if m.Format != tt.format || m.Priority != tt.pri || m.Hostname != tt.host || m.AppName != tt.app ||
				m.ProcID != tt.pid || m.Text != tt.text {
				t.Errorf("got %v pri %d host %q app %q pid %q text %q, want %v %d %q %q %q %q",
					m.Format, m.Priority, m.Hostname, m.AppName, m.ProcID, m.Text,
					tt.format, tt.pri, tt.host, tt.app, tt.pid, tt.text)
			}
			if tt.ts != "" {
				want, _ := time.Parse(time.RFC3339Nano, tt.ts)
				if !m.Timestamp.Equal(want) {
					t.Errorf("Timestamp %v, want %v", m.Timestamp, want)
				}
			}
			if tt.sd != "" {
				if _, ok := m.StructuredData[tt.sd]; !ok {
					t.Errorf("StructuredData %v lacks %q", m.StructuredData, tt.sd)
				}
			}
		})
	}
}

func TestMessageString(t *testing.T) {
	p := newParser()
	m := Message{Source: netip.MustParseAddrPort("10.0.0.7:514")}
	p.parse(&m, []byte("<6>Nov 24 11:30:56 k kernel: Linux \xff"))
	if got, want := m.String(), "10.0.0.7 kern.info kernel: Linux \uFFFD"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	m = Message{Source: netip.MustParseAddrPort("10.0.0.7:514")}
	p.parse(&m, []byte("garbage"))
	if got := m.String(); !strings.Contains(got, `raw "garbage"`) {
		t.Errorf("String() = %q, want the raw text", got)
	}
}

// FuzzParse parses datagrams: never a panic, Raw always the input, and a
// message without Err has a format.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"<6>Nov 24 11:30:56 kiosk-01 kernel: Linux version 6.1.0",
		`<165>1 2026-11-24T11:30:56.003Z kiosk-01 app 42 ID7 [exampleSDID@32473 iut="3"] hello`,
		"<14>1 - - - - - -", "", "\x00", "<999>", "<13>\xff\xfe", "<189>237: 000485: *Jan 8 19:46:03.295: %SYS-5",
	} {
		f.Add([]byte(s))
	}
	p := newParser()
	f.Fuzz(func(t *testing.T, raw []byte) {
		var m Message
		p.parse(&m, raw)
		if m.Raw != string(raw) {
			t.Fatalf("Raw %q, want %q", m.Raw, raw)
		}
		if m.Err == nil && m.Format == FormatUnknown {
			t.Fatalf("%q: no error and no format", raw)
		}
		if m.Err == nil && !strings.HasSuffix(string(trimTrailer(raw)), m.Text) {
			t.Fatalf("%q: text %q is not the end of the message", raw, m.Text)
		}
		if m.Priority < -1 || m.Priority > 191 {
			t.Fatalf("%q: priority %d", raw, m.Priority)
		}
	})
}

func TestHasControl(t *testing.T) {
	slow := func(b []byte) bool {
		for _, c := range b {
			if isControl(c) {
				return true
			}
		}
		return false
	}
	base := []byte("<13>Nov 24 11:30:56 h t: \t0123456789abcdefghij\xff\x80 \r\n")
	for i := range base {
		for c := range 256 {
			b := append([]byte(nil), base...)
			b[i] = byte(c)
			for _, in := range [][]byte{b, b[i:], b[:i]} {
				if got, want := hasControl(in), slow(in); got != want {
					t.Fatalf("hasControl(%q) = %v, want %v", in, got, want)
				}
			}
		}
	}
}

// FuzzParseSameHeader checks that a message parsed after one with the
// same header, whose fields the parser keeps, parses as it does alone.
func FuzzParseSameHeader(f *testing.F) {
	for _, s := range [][3]string{
		{"<6>Nov 24 11:30:56 kiosk-01 kernel: ", "Linux version 6.1.0", "[    0.000000] x"},
		{"<30>Jan  5 07:30:00 kiosk-01 systemd[1]: ", "Started.", "a]: b"},
		{"<13>Nov 24 11:30:56 h t: ", "x", "y: z [1]: \x00\n\xff"},
		{"<38>2026-11-24T11:48:28 localhost prg00000[1234]: ", "seq: 1", "seq: 2\r\n"},
		{"<13>Nov 24 11:30:56 h t[", "1]: a", "2]: b"},
		{"<13>Nov 24 11:30:56 h ", "t: a", "u: b"},
		{"<165>1 2026-11-24T11:30:56.003Z h app 42 ID7 - ", "a", "b"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, head, first, second string) {
		p := newParser()
		p.parse(&Message{}, []byte(head+first))
		var got, want Message
		p.parse(&got, []byte(head+second))
		newParser().parse(&want, []byte(head+second))
		if got.Format != want.Format || got.Priority != want.Priority || got.Timestamp != want.Timestamp ||
			got.Hostname != want.Hostname || got.AppName != want.AppName || got.ProcID != want.ProcID ||
			got.MsgID != want.MsgID || got.Text != want.Text || len(got.StructuredData) != len(want.StructuredData) ||
			(got.Err == nil) != (want.Err == nil) || got.Err != nil && got.Err.Error() != want.Err.Error() {
			t.Fatalf("%q after %q:\n got %+v\nwant %+v", head+second, head+first, got, want)
		}
	})
}
