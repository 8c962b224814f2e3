package dnsd

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// CommandFunc is a command run for the machine named in a command query,
// such as waking it or setting its boot profile. ctx is done when the
// command's time is up.
type CommandFunc func(ctx context.Context, m pxelator.Machine) error

// HandleCommand registers fn under name, so that an A query for
// <name>.<hostname>.<command zone> runs fn for the machine called
// hostname. A name may have several labels ("boot.install") and is
// matched without regard to case; a nil fn removes the command.
// HandleCommand panics on a name that is not a valid DNS name, like
// http.ServeMux does on a bad pattern. It is safe to call while serving.
func (h *StoreHandler) HandleCommand(name string, fn CommandFunc) {
	n := strings.ToLower(strings.TrimSuffix(name, "."))
	if _, ok := dns.IsDomainName(n); !ok || n == "" || strings.Contains(n, "..") || strings.ContainsAny(n, `\ `) {
		panic(fmt.Sprintf("dnsd: bad command name %q", name))
	}
	h.cmds.mu.Lock()
	defer h.cmds.mu.Unlock()
	if fn == nil {
		delete(h.cmds.funcs, n)
		return
	}
	if h.cmds.funcs == nil {
		h.cmds.funcs = make(map[string]CommandFunc)
	}
	h.cmds.funcs[n] = fn
}

// commands is the registry of commands and the record of recent runs that
// keeps a retried query from running a command twice.
type commands struct {
	window, timeout time.Duration

	mu     sync.Mutex
	funcs  map[string]CommandFunc
	recent map[string]*run // by command name and MAC
}

// run is one run of a command; done is closed when it has finished.
type run struct {
	done     chan struct{}
	err      error
	finished time.Time
}

// lookup splits rel, the part of a query name before the command zone,
// into a registered command and a host name, trying the shortest command
// first.
func (c *commands) lookup(rel string) (name, host string, fn CommandFunc) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := 0; i < len(rel); i++ {
		if rel[i] != '.' {
			continue
		}
		if fn := c.funcs[rel[:i]]; fn != nil && i+1 < len(rel) {
			return rel[:i], rel[i+1:], fn
		}
	}
	return "", "", nil
}

// above reports whether rel names a node above a command name, such as
// kiosk-01 or install.kiosk-01 above boot.install.kiosk-01: a known host
// name, after nothing or after the last labels of a registered command.
// Such nodes exist (RFC 8020): they are NODATA, not NXDOMAIN, for
// resolvers that minimise query names (RFC 9156).
func (c *commands) above(ctx context.Context, store pxelator.Store, rel string) bool {
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

// run runs fn for m unless the same command ran or is running for m
// within the window, in which case it waits for and returns that run's
// result. ran tells whether this call ran fn.
func (c *commands) run(ctx context.Context, name string, fn CommandFunc, m pxelator.Machine) (ran bool, err error) {
	if err := ctx.Err(); err != nil { // the handler is closed
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	key := name + " " + m.MAC.String()
	c.mu.Lock()
	now := time.Now()
	if r, ok := c.recent[key]; ok {
		select {
		case <-r.done:
			if now.Sub(r.finished) < c.window {
				c.mu.Unlock()
				return false, r.err
			}
		default: // running: share its result
			c.mu.Unlock()
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

	err = call(ctx, fn, m)

	c.mu.Lock()
	r.err, r.finished = err, time.Now()
	close(r.done)
	c.mu.Unlock()
	return true, err
}

// sweep forgets finished runs older than the window once there are many.
// c.mu is held.
func (c *commands) sweep(now time.Time) {
	if len(c.recent) < 256 {
		return
	}
	for k, r := range c.recent {
		select {
		case <-r.done:
			if now.Sub(r.finished) >= c.window {
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

// command answers a name in the command zone.
func (h *StoreHandler) command(ctx context.Context, m *dns.Msg, q *query) {
	if h.cmdClients != nil && !contains(h.cmdClients, q.client) {
		m.Authoritative = false
		m.Rcode = dns.RcodeRefused
		return
	}
	if q.name == h.czone {
		h.nodata(m, h.zone)
		return
	}
	rel := q.name[:len(q.name)-len(h.czone)-1]
	name, host, fn := h.cmds.lookup(rel)
	if fn == nil {
		if h.cmds.above(ctx, h.store, rel) {
			h.nodata(m, h.zone) // a resolver minimising the name on its way down
			return
		}
		h.nxdomain(m, h.zone)
		return
	}
	q.command = name
	mach, err := h.store.ByHostname(ctx, host)
	if err != nil {
		h.lookupFailed(m, err, h.zone)
		return
	}
	q.machine = mach
	if q.qtype != dns.TypeA && q.qtype != dns.TypeANY {
		h.nodata(m, h.zone) // AAAA from the same ping: answered, nothing run
		return
	}
	cctx, cancel := h.callContext(ctx)
	ran, err := h.cmds.run(cctx, name, fn, mach)
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

func (h *StoreHandler) recordCommand(ctx context.Context, q *query, err error) {
	args := []any{"command", q.command, "machine", q.machine.Hostname, "client", q.client}
	fields := map[string]any{"command": q.command}
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
