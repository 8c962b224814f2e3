package dnsd_test

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator/dnsd"
)

// testKey is the token key of the tests.
var testKey = []byte("0123456789abcdef0123456789abcdef")

func testTokens(t testing.TB) *dnsd.Tokens {
	t.Helper()
	k, err := dnsd.NewTokens(testKey, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestCommandsOffByDefault: a Config that allows no proof runs no
// command, from any client, over UDP or TCP; every refusal is counted and
// recorded.
func TestCommandsOffByDefault(t *testing.T) {
	f := newFixture(t, nil)
	off := &counter{}
	f.h.Handle("off", dnsd.Command{Run: off.run, Destructive: true})
	f.h.HandleCommand("wake", off.run)
	for _, net := range []string{"udp", "tcp"} {
		for _, name := range []string{"off.kiosk-01.do.pxe", "wake.kiosk-01.do.pxe", "kiosk-01.do.pxe"} {
			if r := f.ask(t, net, name, dns.TypeA); r.Rcode != dns.RcodeRefused || len(r.Answer) != 0 {
				t.Errorf("%s over %s with commands off: %s %v, want REFUSED", name, net, dns.RcodeToString[r.Rcode], r.Answer)
			}
		}
	}
	if n := off.n.Load(); n != 0 {
		t.Errorf("commands ran %d times while off", n)
	}
	if st := f.h.Stats(); st.Refused != 6 || st.Commands != 0 {
		t.Errorf("Stats() = %+v, want 6 refused", st)
	}
	evs := f.rec.Find("dnsd", "refused")
	if len(evs) != 6 || evs[0].Fields["reason"] != "commands are off" || evs[0].IP != netip.MustParseAddr("127.0.0.1") {
		t.Errorf("refused events: %+v", evs)
	}
}

// TestDestructiveNeedsToken: a destructive command never runs from a bare
// name, whatever the client; with a valid token it runs once, however
// often the name is asked for while the token is valid.
func TestDestructiveNeedsToken(t *testing.T) {
	tokens := testTokens(t)
	f := newFixture(t, func(c *dnsd.Config) {
		c.CommandTokens, c.CommandSelf, c.CommandClients = tokens, true, loopback
		c.CommandWindow = time.Nanosecond // the bare-name window: it does not let a token run twice
	})
	off := &counter{}
	f.h.Handle("off", dnsd.Command{Run: off.run, Destructive: true})
	for _, net := range []string{"udp", "tcp"} {
		if r := f.ask(t, net, "off.kiosk-01.do.pxe", dns.TypeA); r.Rcode != dns.RcodeRefused || r.Truncated {
			t.Errorf("bare destructive command over %s from an allowed client: %s, want REFUSED", net, dns.RcodeToString[r.Rcode])
		}
	}
	name := tokens.Name("off", "kiosk-01", "do.pxe", time.Now())
	if !strings.HasPrefix(name, "off.kiosk-01.") || !strings.HasSuffix(name, ".do.pxe.") || len(dns.SplitDomainName(name)) != 5 {
		t.Fatalf("Tokens.Name = %q, want off.kiosk-01.<token>.do.pxe.", name)
	}
	for _, net := range []string{"udp", "udp", "tcp", "udp"} { // the first, then replays
		r := f.ask(t, net, strings.ToUpper(name), dns.TypeA) // case does not matter
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s over %s: %s %v", name, net, dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
	if n := off.n.Load(); n != 1 {
		t.Errorf("the command ran %d times for one token, want once", n)
	}
	// Tokens of another command, another machine, made too long ago, or
	// guessed are refused.
	for _, bad := range []string{
		"off.web." + tokens.Token("off", "kiosk-01", time.Now()) + ".do.pxe",
		"off.kiosk-01." + tokens.Token("wake", "kiosk-01", time.Now()) + ".do.pxe",
		"off.kiosk-01." + tokens.Token("off", "kiosk-01", time.Now().Add(-2*tokens.Window())) + ".do.pxe",
		"off.kiosk-01.aaaaaaaaaaaaaaaa.do.pxe",
	} {
		if r := f.ask(t, "udp", bad, dns.TypeA); r.Rcode != dns.RcodeRefused {
			t.Errorf("%s: %s, want REFUSED", bad, dns.RcodeToString[r.Rcode])
		}
	}
	// A token made in the previous window is still good.
	prev := tokens.Name("off", "web", "do.pxe", time.Now().Add(-tokens.Window()))
	if r := f.ask(t, "udp", prev, dns.TypeA); len(r.Answer) != 1 {
		t.Errorf("token of the previous window: %s", dns.RcodeToString[r.Rcode])
	}
	st := f.h.Stats()
	if st.Commands != 2 || st.Repeats != 3 || st.Refused != 6 || st.BadTokens != 4 {
		t.Errorf("Stats() = %+v, want 2 runs, 3 repeats, 6 refused of which 4 bad tokens", st)
	}
	if n := len(f.rec.Find("dnsd", "refused")); n != 6 {
		t.Errorf("%d refused events, want 6", n)
	}
	// No audit record or log holds a token.
	for _, e := range f.rec.Events() {
		s := fmt.Sprintf("%+v", e)
		for _, tok := range []string{tokens.Token("off", "kiosk-01", time.Now()), tokens.Token("off", "web", time.Now().Add(-tokens.Window()))} {
			if strings.Contains(s, tok) {
				t.Errorf("audit event with a valid token: %s", s)
			}
		}
	}
	if evs := f.rec.Find("dnsd", "command"); len(evs) != 2 || evs[0].Fields["token"] != true {
		t.Errorf("command events: %+v", evs)
	}
}

// TestTokenNames: nodes above a command name with a token exist for
// resolvers that minimise names, and a host whose last label merely looks
// like a token is still a host.
func TestTokenNames(t *testing.T) {
	tokens := testTokens(t)
	f := newFixture(t, func(c *dnsd.Config) { c.CommandTokens, c.CommandClients = tokens, loopback })
	putMachine(t, f.store, "52:54:00:00:00:0f", "10.0.0.15", "rack.abcdefghijklmnop")
	wake := &counter{}
	f.h.HandleCommand("wake", wake.run)
	name := tokens.Name("wake", "kiosk-01", "do.pxe", time.Now())
	labels := dns.SplitDomainName(name)
	for _, above := range []string{strings.Join(labels[2:], "."), strings.Join(labels[1:], ".")} {
		if r := f.ask(t, "udp", above, dns.TypeA); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 || len(r.Ns) != 1 {
			t.Errorf("%s: %s %v, want NODATA", above, dns.RcodeToString[r.Rcode], r.Answer)
		}
	}
	if r := f.ask(t, "udp", name, dns.TypeAAAA); len(r.Answer) != 0 || r.Rcode != dns.RcodeSuccess || wake.n.Load() != 0 {
		t.Errorf("AAAA of a token name: %s, %d runs", dns.RcodeToString[r.Rcode], wake.n.Load())
	}
	if r := f.ask(t, "tcp", "wake.rack.abcdefghijklmnop.do.pxe", dns.TypeA); len(r.Answer) != 1 || wake.last.Load() != "rack.abcdefghijklmnop" {
		t.Errorf("bare name of a host like a token: %s %v", dns.RcodeToString[r.Rcode], r.Answer)
	}
}

// TestCommandSelf: with CommandSelf alone, a machine runs commands for
// itself, from its own address over TCP, and for no other machine.
func TestCommandSelf(t *testing.T) {
	f := newFixture(t, func(c *dnsd.Config) { c.CommandSelf = true })
	putMachine(t, f.store, "52:54:00:00:00:0e", "127.0.0.5", "pinger")
	wake := &counter{}
	f.h.HandleCommand("wake", wake.run)
	ask := func(name string) *dns.Msg {
		t.Helper()
		c := &dns.Client{Net: "tcp", Timeout: 10 * time.Second,
			Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.5")}}}
		r, _, err := c.ExchangeContext(f.ctx, new(dns.Msg).SetQuestion(name, dns.TypeA), f.srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := ask("wake.pinger.do.pxe."); len(r.Answer) != 1 || wake.n.Load() != 1 {
		t.Errorf("a machine for itself: %s %v", dns.RcodeToString[r.Rcode], r.Answer)
	}
	if r := ask("wake.kiosk-01.do.pxe."); r.Rcode != dns.RcodeRefused || wake.n.Load() != 1 {
		t.Errorf("a machine for another: %s", dns.RcodeToString[r.Rcode])
	}
	if evs := f.rec.Find("dnsd", "refused"); len(evs) != 1 || evs[0].Fields["reason"] != "not from the machine" {
		t.Errorf("refused events: %+v", evs)
	}
}

// TestTokensKeepTheKey: Tokens never prints its key, and refuses a short
// one.
func TestTokensKeepTheKey(t *testing.T) {
	k := testTokens(t)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "tokens", k)
	for _, out := range []string{fmt.Sprint(k), fmt.Sprintf("%+v %#v %s", k, k, k), logged.String()} {
		if strings.Contains(out, string(testKey[:8])) || strings.Contains(out, "48 49 50") {
			t.Errorf("Tokens prints its key: %s", out)
		}
	}
	if _, err := dnsd.NewTokens(testKey[:15], 0); err == nil {
		t.Error("NewTokens took a 15-byte key")
	}
	if k2, err := dnsd.NewTokens(testKey, 0); err != nil || k2.Window() != dnsd.DefaultTokenWindow {
		t.Errorf("NewTokens(key, 0) = %v, %v", k2, err)
	}
	now := time.Now()
	if exp := k.Expires(now); exp.Sub(now) <= k.Window() || exp.Sub(now) > 2*k.Window() {
		t.Errorf("a token made now expires in %v, want between one and two windows of %v", exp.Sub(now), k.Window())
	}
}
