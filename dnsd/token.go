package dnsd

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DefaultTokenWindow is the time window of command tokens when
// [NewTokens] is given none: a token made in one window is accepted in
// it and in the next, so for 10 to 20 minutes.
const DefaultTokenWindow = 10 * time.Minute

// MinTokenKey is the shortest key [NewTokens] accepts, in bytes.
const MinTokenKey = 16

// tokenLen is the length of a token label: 80 bits of an HMAC-SHA256 in
// base32, which no one guesses (at 100,000 queries a second, 2^80 takes
// longer than the universe is old) and which fits a DNS label.
const (
	tokenBytes = 10
	tokenLen   = tokenBytes * 8 / 5
)

var tokenEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Tokens makes and checks the tokens that command names carry, the proof
// that whoever asks for a command was given its name by someone who holds
// the server's key:
//
//	<command>.<hostname>.<token>.<command zone>    e.g. off.kiosk-01.k3x9q2m7w4p8z6n5.do.pxe
//
// A token is an HMAC-SHA256, with the key, of the command, the host name
// (both without regard to case) and a time window; it is valid in the
// window it was made in and the next one. A [StoreHandler] with
// [Config.CommandTokens] runs a command named with a valid token once:
// a query repeated while the token is valid (a resolver's retry, or
// someone who saw the name) gets the answer of that run.
//
// Tokens never prints its key: String, Format and LogValue show
// "[secret]". A Tokens is safe for concurrent use.
type Tokens struct {
	key    []byte
	window time.Duration
}

// NewTokens returns the Tokens for a key of at least [MinTokenKey] random
// bytes, kept secret and stable across restarts (the reference server
// keeps it in <state>/dns.key), and a window (0 means
// [DefaultTokenWindow]).
func NewTokens(key []byte, window time.Duration) (*Tokens, error) {
	if len(key) < MinTokenKey {
		return nil, fmt.Errorf("dnsd: token key of %d bytes: want at least %d", len(key), MinTokenKey)
	}
	if window == 0 {
		window = DefaultTokenWindow
	}
	if window < time.Second {
		return nil, fmt.Errorf("dnsd: token window %v: want at least a second", window)
	}
	return &Tokens{key: append([]byte(nil), key...), window: window}, nil
}

// Window returns the time window of the tokens.
func (k *Tokens) Window() time.Duration { return k.window }

// Token returns the token of command for the machine called host, made
// at time at.
func (k *Tokens) Token(command, host string, at time.Time) string {
	return k.token(command, host, k.slot(at))
}

// Name returns the fully qualified name that runs command for the
// machine called host, in the command zone (such as "do.pxe"), with the
// token made at time at: what a person pings, or a web page shows.
func (k *Tokens) Name(command, host, zone string, at time.Time) string {
	return strings.ToLower(command+"."+host) + "." + k.Token(command, host, at) + "." + dns.Fqdn(strings.ToLower(zone))
}

// Expires returns when a token made at time at stops being accepted.
func (k *Tokens) Expires(at time.Time) time.Time {
	return time.Unix(0, 0).Add(time.Duration(k.slot(at)+2) * k.window)
}

// valid reports whether token is the token of command and host at time
// now, and until when it is accepted.
func (k *Tokens) valid(token, command, host string, now time.Time) (expires time.Time, ok bool) {
	slot := k.slot(now)
	for _, s := range []int64{slot, slot - 1} {
		if hmac.Equal([]byte(token), []byte(k.token(command, host, s))) {
			return time.Unix(0, 0).Add(time.Duration(s+2) * k.window), true
		}
	}
	return time.Time{}, false
}

func (k *Tokens) slot(t time.Time) int64 { return t.UnixNano() / int64(k.window) }

func (k *Tokens) token(command, host string, slot int64) string {
	mac := hmac.New(sha256.New, k.key)
	mac.Write([]byte("pxelator dnsd command\x00"))
	mac.Write([]byte(strings.ToLower(command)))
	mac.Write([]byte{0})
	mac.Write([]byte(strings.ToLower(host)))
	mac.Write([]byte{0})
	mac.Write(strconv.AppendInt(nil, slot, 10))
	return tokenEncoding.EncodeToString(mac.Sum(nil)[:tokenBytes])
}

// String returns a description of k without its key.
func (k *Tokens) String() string {
	if k == nil {
		return "dnsd.Tokens(nil)"
	}
	return fmt.Sprintf("dnsd.Tokens{key: [secret], window: %v}", k.window)
}

// Format implements fmt.Formatter so that every verb, %#v included,
// prints String.
func (k *Tokens) Format(f fmt.State, verb rune) { fmt.Fprint(f, k.String()) }

// LogValue implements slog.LogValuer without the key.
func (k *Tokens) LogValue() slog.Value { return slog.StringValue(k.String()) }

// isToken reports whether a label has the form of a token.
func isToken(label string) bool {
	if len(label) != tokenLen {
		return false
	}
	for _, c := range []byte(label) {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// cutToken splits the last label off rel, a name relative to the command
// zone, when it has the form of a token.
func cutToken(rel string) (rest, token string, ok bool) {
	i := strings.LastIndexByte(rel, '.')
	if i < 0 {
		if isToken(rel) {
			return "", rel, true
		}
		return "", "", false
	}
	if !isToken(rel[i+1:]) {
		return "", "", false
	}
	return rel[:i], rel[i+1:], true
}
