package syslogd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/auto"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/pxelator/pxelator"
)

// Format is the syslog format a message was parsed as.
type Format uint8

// Formats of a [Message].
const (
	FormatUnknown Format = iota // nothing could be parsed: the message is raw text
	FormatRFC3164               // BSD syslog, RFC 3164
	FormatRFC5424               // RFC 5424
)

// String returns "rfc3164", "rfc5424" or "unknown".
func (f Format) String() string {
	switch f {
	case FormatRFC3164:
		return "rfc3164"
	case FormatRFC5424:
		return "rfc5424"
	}
	return "unknown"
}

// Message is one syslog message as the server received it: the sender,
// the machine the sender's address belongs to, the parsed fields and the
// raw text. A malformed message keeps its raw text and has Err set.
//
// A handler may keep a Message after ServeSyslog returns.
type Message struct {
	Received time.Time      // when the server received the message
	Source   netip.AddrPort // the sender's address
	Network  string         // "udp" or "tcp"
	// Machine is the machine of the store whose IP is the sender's
	// address, or nil when the store does not know it.
	Machine *pxelator.Machine

	Format Format
	// Priority is facility*8 + severity, or -1 when the message has none.
	Priority       int
	Timestamp      time.Time // the sender's timestamp; zero when absent
	Hostname       string    // the host name the sender claims
	AppName        string    // RFC 3164 tag or RFC 5424 APP-NAME
	ProcID         string
	MsgID          string
	StructuredData map[string]map[string]string
	Text           string // the free-form message text (MSG)

	// Raw is the message as received, without its framing, cut to the
	// server's MaxMessageSize. It may hold invalid UTF-8 and NUL bytes.
	Raw string
	// Truncated reports that the sender's message was longer than the
	// server's MaxMessageSize and was cut, or that the stream ended or
	// timed out in the middle of it.
	Truncated bool
	// Err says why the message could not be parsed, in whole or in part.
	// Parsed fields that precede the error are filled in.
	Err error
}

// Facility returns the facility (0-23), or -1 when there is no priority.
func (m *Message) Facility() int {
	if m.Priority < 0 {
		return -1
	}
	return m.Priority / 8
}

// Severity returns the severity (0 emerg to 7 debug), or -1 when there is
// no priority.
func (m *Message) Severity() int {
	if m.Priority < 0 {
		return -1
	}
	return m.Priority % 8
}

// FacilityName returns the facility keyword ("kern", "daemon", "local0",
// ...), or "" when there is no priority.
func (m *Message) FacilityName() string {
	if m.Priority < 0 {
		return ""
	}
	return facilityNames[m.Facility()].(string)
}

// facilityNames and severityNames are the keywords of RFC 5427 and
// syslog(3), strings in interfaces so that audit events take them without
// allocating.
var (
	facilityNames = [24]any{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
		"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "cron2",
		"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	severityNames = [8]any{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
)

// SeverityName returns the severity keyword ("err", "info", ...), or ""
// when there is no priority.
func (m *Message) SeverityName() string {
	if m.Priority < 0 {
		return ""
	}
	return severityNames[m.Severity()].(string)
}

// Sender names the sender: the machine's host name when it has one, else
// the sender's IP address.
func (m *Message) Sender() string {
	if m.Machine != nil && m.Machine.Hostname != "" {
		return m.Machine.Hostname
	}
	return m.Source.Addr().Unmap().String()
}

// String returns a one-line description such as
// "kiosk-01 kern.info kernel: Linux version 6.1"; a malformed message
// shows its raw text.
func (m *Message) String() string {
	var b strings.Builder
	b.WriteString(m.Sender())
	if m.Priority >= 0 {
		b.WriteByte(' ')
		b.WriteString(m.FacilityName())
		b.WriteByte('.')
		b.WriteString(m.SeverityName())
	}
	if m.Err != nil && m.Text == "" {
		fmt.Fprintf(&b, " raw %q", m.Raw)
		return b.String()
	}
	if m.AppName != "" {
		b.WriteByte(' ')
		b.WriteString(m.AppName)
		if m.ProcID != "" {
			b.WriteByte('[')
			b.WriteString(m.ProcID)
			b.WriteByte(']')
		}
		b.WriteByte(':')
	}
	b.WriteByte(' ')
	b.WriteString(strings.ToValidUTF8(m.Text, "\uFFFD"))
	return b.String()
}

// LogValue implements slog.LogValuer. The machine is logged through its
// own LogValue, which redacts secrets.
func (m *Message) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("from", m.Source.String()),
		slog.String("net", m.Network),
	}
	if m.Machine != nil {
		attrs = append(attrs, slog.Any("machine", *m.Machine))
	}
	if m.Priority >= 0 {
		attrs = append(attrs, slog.String("facility", m.FacilityName()), slog.String("severity", m.SeverityName()))
	}
	if m.AppName != "" {
		attrs = append(attrs, slog.String("app", m.AppName))
	}
	attrs = append(attrs, slog.String("msg", m.Text))
	if m.Err != nil {
		attrs = append(attrs, slog.String("raw", m.Raw), slog.String("err", m.Err.Error()))
	}
	if m.Truncated {
		attrs = append(attrs, slog.Bool("truncated", true))
	}
	return slog.GroupValue(attrs...)
}

// parser parses syslog messages of either format. It is not safe for
// concurrent use: every connection and UDP reader has its own.
type parser struct {
	m    syslog.Machine
	buf  []byte
	zbuf []byte
	// head is the header of the last RFC 3164 message parsed whole that
	// ended in a tag, "<PRI>TIMESTAMP HOST TAG[PID]: ", and last has its
	// fields.
	head []byte
	last Message
}

func newParser() *parser {
	m := auto.NewMachine(
		auto.WithRFC3164Options(
			rfc3164.WithYear(rfc3164.CurrentYear{}),
			rfc3164.WithRFC3339(),
			rfc3164.WithLenientDay(),
			rfc3164.WithSecondFractions(),
			rfc3164.WithEmbeddedNewlines(),
		),
	)
	m.WithBestEffort()
	return &parser{m: m}
}

// errEmpty is the error of an empty message.
var errEmpty = errors.New("syslogd: empty message")

// parse fills in the parsed fields of msg from raw, which it does not
// keep. msg.Raw is raw as a string, or empty and then set: the text is
// taken from it.
func (p *parser) parse(msg *Message, raw []byte) {
	msg.Priority = -1
	if msg.Raw == "" {
		msg.Raw = string(raw)
	}
	raw = trimTrailer(raw)
	// text returns the last n bytes of the message.
	text := func(n int) string { return msg.Raw[len(raw)-n : len(raw)] }
	if len(raw) == 0 {
		msg.Err = errEmpty
		return
	}
	// The RFC 3164 parser drops a message text that holds control
	// characters, NUL among them, without an error. Parse a copy where
	// they are '?' and take the text, the message's last field, from the
	// bytes received.
	in := raw
	if hasControl(raw) {
		p.buf = append(p.buf[:0], raw...)
		for i, c := range p.buf {
			if isControl(c) {
				p.buf[i] = '?'
			}
		}
		in = p.buf
	}
	// "<38>2026-11-24T11:48:28 host ...", an ISO time without a zone as
	// syslog-ng's loggen and some devices send it, is read as local time.
	if at := zonelessISO(in); at > 0 {
		zone := time.Now().Format("Z07:00")
		p.zbuf = append(append(append(p.zbuf[:0], in[:at]...), zone...), in[at:]...)
		in = p.zbuf
	}
	// The lines a program sends in one second have the same header. What
	// follows a header that ends in a tag is the text, whatever it is
	// (every byte of it is one the parser takes), so such a header is
	// parsed once.
	if h := p.head; len(h) > 0 && len(in) > len(h) && bytes.HasPrefix(in, h) {
		msg.Format, msg.Priority, msg.Timestamp = FormatRFC3164, p.last.Priority, p.last.Timestamp
		msg.Hostname, msg.AppName, msg.ProcID = p.last.Hostname, p.last.AppName, p.last.ProcID
		msg.Text = text(len(in) - len(h))
		return
	}
	sm, err := p.m.Parse(in)
	if err != nil {
		var pe *auto.ParseError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		msg.Err = fmt.Errorf("syslogd: malformed message: %w", err)
	}
	var base *syslog.Base
	switch sm := sm.(type) {
	case *rfc3164.SyslogMessage:
		msg.Format = FormatRFC3164
		base = &sm.Base
	case *rfc5424.SyslogMessage:
		msg.Format = FormatRFC5424
		base = &sm.Base
		if sm.StructuredData != nil {
			msg.StructuredData = *sm.StructuredData
		}
	default:
		if msg.Err == nil {
			msg.Err = errors.New("syslogd: malformed message")
		}
		return
	}
	if base.Priority != nil {
		msg.Priority = int(*base.Priority)
	}
	if base.Timestamp != nil {
		msg.Timestamp = *base.Timestamp
	}
	msg.Hostname = deref(base.Hostname)
	msg.AppName = deref(base.Appname)
	msg.ProcID = deref(base.ProcID)
	msg.MsgID = deref(base.MsgID)
	msg.Text = deref(base.Message)
	n := len(msg.Text)
	if n == 0 || n > len(raw) || string(in[len(in)-n:]) != msg.Text {
		return
	}
	if msg.Format == FormatRFC3164 && msg.Err == nil && msg.AppName != "" && bytes.HasSuffix(in[:len(in)-n], []byte(": ")) {
		p.head = append(p.head[:0], in[:len(in)-n]...)
		p.last = *msg
	}
	if &in[0] != &raw[0] {
		msg.Text = text(n)
	}
}

// zonelessISO returns the offset just after the timestamp when b is
// "<PRI>YYYY-MM-DDTHH:MM:SS[.frac] ...", a timestamp without a zone, or 0.
func zonelessISO(b []byte) int {
	i := 1
	for i < len(b) && i < 5 && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if len(b) == 0 || b[0] != '<' || i == 1 || i >= len(b) || b[i] != '>' {
		return 0
	}
	i++
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(b) < i+len(layout)+1 {
		return 0
	}
	for j := 0; j < len(layout); j++ {
		c := b[i+j]
		if layout[j] == 'd' && (c < '0' || c > '9') || layout[j] != 'd' && c != layout[j] {
			return 0
		}
	}
	i += len(layout)
	if b[i] == '.' {
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && b[i] == ' ' {
		return i
	}
	return 0
}

func isControl(c byte) bool { return c == 0x7f || c < 0x20 && c != '\t' && c != '\n' && c != '\r' }

func hasControl(b []byte) bool {
	// Eight bytes at a time: a word none of whose bytes is below 0x20 or
	// 0x7f has no control character. The test may see one where there
	// is none (a tab, a borrow), never the reverse: the bytes decide.
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; len(b) >= 8; b = b[8:] {
		x := binary.LittleEndian.Uint64(b)
		del := x ^ (ones * 0x7f) // a zero byte where x has 0x7f
		if ((x-ones*0x20)&^x|(del-ones)&^del)&highs == 0 {
			continue
		}
		for _, c := range b[:8] {
			if isControl(c) {
				return true
			}
		}
	}
	for _, c := range b {
		if isControl(c) {
			return true
		}
	}
	return false
}

// trimTrailer removes a trailing LF, CR LF or NUL that some senders put
// after a datagram or an octet-counted frame.
func trimTrailer(b []byte) []byte {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case '\n', '\r', 0:
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return b
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
