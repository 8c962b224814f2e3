package dnsd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// CommandFunc is a command run for the machine named in a command query,
// such as waking it or setting its boot profile. ctx is done when the
// command's time is up.
type CommandFunc func(ctx context.Context, m pxelator.Machine) error

// A Command is what a command name runs, and what proof it needs.
type Command struct {
	// Run runs the command for the machine.
	Run CommandFunc
	// Destructive marks a command that takes a machine from its user or
	// changes how it boots: switching it off, cycling or resetting it,
	// turning its network boot off or on, giving it another boot
	// profile. It runs only from a name with a valid token
	// ([Config.CommandTokens]), never from a bare name, whatever
	// Config.CommandSelf and Config.CommandClients allow: a web page
	// that a machine's browser opens can make it look up any name.
	Destructive bool
}

// HandleCommand registers fn under name as a command that is not
// destructive; it is Handle(name, Command{Run: fn}). A nil fn removes the
// command.
func (h *StoreHandler) HandleCommand(name string, fn CommandFunc) {
	h.Handle(name, Command{Run: fn})
}

// Handle registers c under name, so that an A query for
// <name>.<hostname>.<command zone>, with a token or as the Config
// allows, runs c for the machine called hostname. A name may have
// several labels ("boot.install") and is matched without regard to case;
// a Command without Run removes the command. Handle panics on a name
// that is not a valid DNS name, like http.ServeMux does on a bad
// pattern. It is safe to call while serving.
func (h *StoreHandler) Handle(name string, c Command) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if _, ok := dns.IsDomainName(n); !ok || n == "" || strings.Contains(n, "..") || strings.ContainsAny(n, `\ `) {
		panic(fmt.Sprintf("dnsd: bad command name %q", name))
	}
	h.cmds.mu.Lock()
	defer h.cmds.mu.Unlock()
	if c.Run == nil {
		delete(h.cmds.funcs, n)
		return
	}
	if h.cmds.funcs == nil {
		h.cmds.funcs = make(map[string]Command)
	}
	h.cmds.funcs[n] = c
}

// Stats counts the answers of a [StoreHandler] by response code, and
// what it did with command queries.
type Stats struct {
	// Rcodes maps the name of a response code (dns.RcodeToString:
	// "NOERROR", "NXDOMAIN", "REFUSED", ...) to the answers that had it.
	Rcodes map[string]uint64

	Commands uint64 // commands run
	// Repeats counts the command queries answered with the result of an
	// earlier run: a resolver's retry, a flood, a token seen again.
	Repeats uint64
	// Refused counts the command queries refused, each recorded in the
	// audit (action "refused"): commands off, a bare name for a command
	// that needs a token, a client that may not, a bad token.
	Refused uint64
	// BadTokens counts, of Refused, the names whose token is not valid:
	// a guess, a token of another command or machine, or one too old.
	BadTokens uint64
	// Retries counts the bare command queries over UDP answered with the
	// TC bit, for the client to ask again over TCP.
	Retries uint64
}

// Stats returns the handler's counters.
func (h *StoreHandler) Stats() Stats {
	s := &h.cmds.stats
	return Stats{
		Rcodes:    h.rcodeCounts(),
		Commands:  s.runs.Load(),
		Repeats:   s.repeats.Load(),
		Refused:   s.refused.Load(),
		BadTokens: s.badTokens.Load(),
		Retries:   s.retries.Load(),
	}
}

// commands is the registry of commands and the record of recent runs that
// keeps a retried query, or a token seen again, from running a command
// twice.
type commands struct {
	window, timeout time.Duration

	mu     sync.Mutex
	funcs  map[string]Command
	recent map[string]*run // by command name and MAC, or by token

	stats struct {
		runs, repeats, refused, badTokens, retries atomic.Uint64
	}
}

// run is one run of a command; done is closed when it has finished.
type run struct {
	done    chan struct{}
	err     error
	expires time.Time // once finished: when a repeat may run it again
}

// lookup splits rel, the part of a query name before the command zone,
// into a registered command and a host name, trying the shortest command
// first.
func (c *commands) lookup(rel string) (name, host string, cmd Command) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < len(rel); i++ {
		if rel[i] != '.' {
			continue
		}
		if cmd := c.funcs[rel[:i]]; cmd.Run != nil && i+1 < len(rel) {
			return rel[:i], rel[i+1:], cmd
		}
	}
	return "", "", Command{}
}

// above reports whether rel names a node above a command name, such as
// kiosk-01 or install.kiosk-01 above boot.install.kiosk-01, or the
// token label of a command name and the nodes below it down to the
// command: a known host name, after nothing or after the last labels of
// a registered command, and with or without a token after it. Such nodes
// exist (RFC 8020): they are NODATA, not NXDOMAIN, for resolvers that
// minimise query names (RFC 9156).
func (c *commands) above(ctx context.Context, store pxelator.Store, rel string) bool {
	if rest, _, ok := cutToken(rel); ok {
		if rest == "" {
			return true
		}
		rel = rest
	}
	for i := -1; i < len(rel); i++ {
		if i >= 0 && rel[i] != '.' {
			continue
		}
		prefix, host := "", rel[i+1:]
		if i >= 0 {
			prefix = rel[:i]
		}
		if prefix != "" && !c.endsWith(prefix) {
			continue
		}
		if _, err := store.ByHostname(ctx, host); err == nil {
			return true
		}
	}
	return false
}

// endsWith reports whether a registered command name ends with the
// labels of suffix.
func (c *commands) endsWith(suffix string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name := range c.funcs {
		if strings.HasSuffix(name, "."+suffix) {
			return true
		}
	}
	return false
}

// run runs fn for m unless a run of the same key (a command and a MAC,
// or a token) ran within its time or is running, in which case it waits
// for and returns that run's result. A finished run is repeated for
// keep after it finished, or until until when that is later. ran tells
// whether this call ran fn.
func (c *commands) run(ctx context.Context, key string, keep time.Duration, until time.Time, fn CommandFunc, m pxelator.Machine) (ran bool, err error) {
	if err := ctx.Err(); err != nil { // the handler is closed
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	c.mu.Lock()
	now := time.Now()
	if r, ok := c.recent[key]; ok {
		select {
		case <-r.done:
			if now.Before(r.expires) {
				c.mu.Unlock()
				c.stats.repeats.Add(1)
				return false, r.err
			}
		default: // running: share its result
			c.mu.Unlock()
			c.stats.repeats.Add(1)
			select {
			case <-r.done:
				return false, r.err
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
	}
	r := &run{done: make(chan struct{})}
	if c.recent == nil {
		c.recent = make(map[string]*run)
	}
	c.sweep(now)
	c.recent[key] = r
	c.mu.Unlock()

	c.stats.runs.Add(1)
	err = call(ctx, fn, m)

	c.mu.Lock()
	r.err = err
	r.expires = time.Now().Add(keep)
	if until.After(r.expires) {
		r.expires = until
	}
	close(r.done)
	c.mu.Unlock()
	return true, err
}

// sweep forgets finished runs whose time is over once there are many.
// c.mu is held.
func (c *commands) sweep(now time.Time) {
	if len(c.recent) < 256 {
		return
	}
	for k, r := range c.recent {
		select {
		case <-r.done:
			if !now.Before(r.expires) {
				delete(c.recent, k)
			}
		default:
		}
	}
}

// call runs fn, turning a panic into an error so that a broken command
// cannot take the name server down.
func call(ctx context.Context, fn CommandFunc, m pxelator.Machine) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("dnsd: command panicked: %v", p)
		}
	}()
	return fn(ctx, m)
}

// commandsOn reports whether any proof may run a command.
func (h *StoreHandler) commandsOn() bool {
	return h.tokens != nil || h.cmdSelf || len(h.cmdClients) > 0
}

// Reasons of refused command queries, as the audit records them.
const (
	refusedOff       = "commands are off"
	refusedToken     = "bad token"
	refusedNoToken   = "needs a token"
	refusedNoTokens  = "tokens are off"
	refusedClient    = "client may not"
	refusedNotOnHost = "not from the machine"
)

// command answers a name in the command zone.
func (h *StoreHandler) command(ctx context.Context, m *dns.Msg, q *query) {
	if !h.commandsOn() {
		h.refuse(ctx, m, q, refusedOff)
		return
	}
	if q.name == h.czone {
		h.nodata(m, h.zone)
		return
	}
	rel := q.name[:len(q.name)-len(h.czone)-1]
	name, cmd, mach, token, err := h.parseCommand(ctx, rel)
	if cmd.Run == nil {
		if h.cmds.above(ctx, h.store, rel) {
			h.nodata(m, h.zone) // a resolver minimising the name on its way down
			return
		}
		h.nxdomain(m, h.zone)
		return
	}
	q.command = name
	if err != nil {
		h.lookupFailed(m, err, h.zone)
		return
	}
	q.machine, q.token = mach, token
	if q.qtype != dns.TypeA && q.qtype != dns.TypeANY {
		h.nodata(m, h.zone) // AAAA from the same ping: answered, nothing run
		return
	}
	// The proof: a token, or the client's address for what the Config
	// allows from an address, proven by TCP.
	key, keep, until := name+" "+mach.MAC.String(), h.cmds.window, time.Time{}
	switch {
	case token != "":
		if h.tokens == nil {
			h.refuse(ctx, m, q, refusedNoTokens)
			return
		}
		exp, ok := h.tokens.valid(token, name, mach.Hostname, time.Now())
		if !ok {
			h.cmds.stats.badTokens.Add(1)
			h.refuse(ctx, m, q, refusedToken)
			return
		}
		key, keep, until = "token "+token, 0, exp
	case cmd.Destructive:
		h.refuse(ctx, m, q, refusedNoToken)
		return
	case h.cmdSelf && q.client == mach.IP, contains(h.cmdClients, q.client):
		if !q.tcp {
			// A UDP source address is easily forged: the TC bit has the
			// client's resolver ask again over TCP, whose handshake
			// proves the address.
			h.cmds.stats.retries.Add(1)
			m.Truncated = true
			return
		}
	case !h.cmdSelf && len(h.cmdClients) == 0: // tokens only
		h.refuse(ctx, m, q, refusedNoToken)
		return
	case len(h.cmdClients) == 0:
		h.refuse(ctx, m, q, refusedNotOnHost)
		return
	default:
		h.refuse(ctx, m, q, refusedClient)
		return
	}
	cctx, cancel := h.callContext(ctx)
	ran, err := h.cmds.run(cctx, key, keep, until, cmd.Run, mach)
	cancel()
	if ran {
		h.recordCommand(ctx, q, err)
	}
	if err != nil {
		m.Rcode = dns.RcodeServerFailure
		return
	}
	m.Answer = append(m.Answer, h.a(q.owner, mach.IP, 0))
}

// parseCommand finds the command, the machine and the token, if any, of
// rel: <command>.<host>[.<token>]. A name whose last label only looks
// like a token is read as a bare name when that is what it is (a host
// name whose last label is of that form). cmd.Run is nil when rel names
// no command; err is the store's when it has no such machine, or fails.
func (h *StoreHandler) parseCommand(ctx context.Context, rel string) (name string, cmd Command, mach pxelator.Machine, token string, err error) {
	if rest, tok, ok := cutToken(rel); ok && rest != "" {
		if n, host, c := h.cmds.lookup(rest); c.Run != nil {
			m, err := h.store.ByHostname(ctx, host)
			if err == nil || !errors.Is(err, pxelator.ErrNotFound) {
				return n, c, m, tok, err
			}
		}
	}
	name, host, cmd := h.cmds.lookup(rel)
	if cmd.Run == nil {
		return "", cmd, mach, "", nil
	}
	mach, err = h.store.ByHostname(ctx, host)
	return name, cmd, mach, "", err
}

// refuse answers REFUSED to a command query, counts it and records it.
func (h *StoreHandler) refuse(ctx context.Context, m *dns.Msg, q *query, reason string) {
	m.Authoritative = false
	m.Rcode = dns.RcodeRefused
	h.cmds.stats.refused.Add(1)
	h.log.Debug("dnsd: command refused", "name", q.recordedName(), "client", q.client, "reason", reason)
	fields := map[string]any{"name": q.recordedName(), "reason": reason}
	if q.command != "" {
		fields["command"] = q.command
	}
	e := audit.Event{Package: "dnsd", Action: "refused", IP: q.client, Hostname: q.machine.Hostname, Fields: fields}
	if q.machine.Hostname != "" {
		e.MAC = q.machine.MAC
	}
	audit.Record(ctx, h.audit, e)
}

func (h *StoreHandler) recordCommand(ctx context.Context, q *query, err error) {
	args := []any{"command", q.command, "machine", q.machine.Hostname, "client", q.client}
	fields := map[string]any{"command": q.command}
	if q.token != "" {
		fields["token"] = true
		args = append(args, "token", true)
	}
	if err != nil {
		fields["error"] = err.Error()
		h.log.Warn("dnsd: command failed", append(args, "err", err)...)
	} else {
		h.log.Info("dnsd: command ran", args...)
	}
	audit.Record(ctx, h.audit, audit.Event{
		Package: "dnsd", Action: "command", IP: q.client,
		MAC: q.machine.MAC, Hostname: q.machine.Hostname, Fields: fields,
	})
}
