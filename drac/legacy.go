package drac

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"

	"github.com/pxelator/pxelator"
)

// Paths of the legacy DRAC web interface and of remote RACADM.
const (
	webLoginPath  = "/cgi-bin/webcgi/login"
	webLogoutPath = "/cgi-bin/webcgi/logout"
	vkvmPath      = "/cgi-bin/webcgi/vkvm?state=1"
	racLoginPath  = "/cgi-bin/login"
	racExecPath   = "/cgi-bin/exec"
	racLogoutPath = "/cgi-bin/logout"
)

// Legacy is a client of the DRAC web interface (DRAC 5, iDRAC 6) and of
// remote RACADM over HTTPS, for cards that speak no Redfish. [NewLegacy]
// returns one.
//
// The power methods run "racadm serveraction ..." through /cgi-bin/exec,
// logging in on first use, once more when the card has dropped the
// session, and out on Close. Login, VirtualConsole and Logout use the
// web interface's own session.
//
// A Legacy is safe for concurrent use.
type Legacy struct {
	cfg     Config
	ep      endpoint
	web     *http.Client // with a cookie jar for the web session
	rac     *http.Client // without: the RACADM sid is sent by hand
	webLock chan struct{}
	racLock chan struct{}

	mu     sync.Mutex
	webIn  bool   // a web session is open
	st2    string // iDRAC 7/8 CSRF token of the web session
	racSID string // remote RACADM session id
}

// NewLegacy returns a client of the web interface and remote RACADM of
// the DRAC at address, which is "host", "host:port" or
// "https://host:port" (the scheme defaults to https) and must not hold
// credentials: they go in cfg. SystemID and BasicAuth of cfg are not
// used.
func NewLegacy(address string, cfg Config) (*Legacy, error) {
	ep, err := parseAddress("legacy", address)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	jar, _ := cookiejar.New(nil)
	c := &Legacy{
		cfg:     cfg,
		ep:      ep,
		web:     newHTTPClient(cfg.HTTPClient, cfg.InsecureSkipVerify, jar),
		rac:     newHTTPClient(cfg.HTTPClient, cfg.InsecureSkipVerify, nil),
		webLock: make(chan struct{}, 1),
		racLock: make(chan struct{}, 1),
	}
	c.rac.Jar = nil
	return c, nil
}

// lock takes a one-slot lock, or gives up when ctx is done.
func lock(ctx context.Context, l chan struct{}, op string) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("drac: %s: %w", op, ctx.Err())
	}
}

// Login logs in to the web interface (/cgi-bin/webcgi/login). The card
// answers HTTP 200 either way; RC 0x3000 is success and 0x140004 a
// refusal, returned as an error wrapping [ErrUnauthorized].
func (c *Legacy) Login(ctx context.Context) error {
	if err := lock(ctx, c.webLock, "web login"); err != nil {
		return err
	}
	defer func() { <-c.webLock }()
	return c.webLogin(ctx)
}

func (c *Legacy) webLogin(ctx context.Context) error {
	form := url.Values{"user": {c.cfg.Username}, "password": {c.cfg.Password}}
	req, err := http.NewRequest(http.MethodPost, c.ep.url(webLoginPath), strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("drac: web login: %w", redactURLError(err))
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := roundTrip(ctx, c.web, req, "web login")
	if err != nil {
		return err
	}
	if resp.status != http.StatusOK {
		return fmt.Errorf("drac: web login: HTTP %d: %w", resp.status, ErrProtocol)
	}
	if resp.looksHTML() {
		return fmt.Errorf("drac: web login: an HTML page, not the login answer (%q): %w", snippet(resp.body), ErrProtocol)
	}
	l, err := decodeWebLogin(resp.body)
	if err != nil {
		return fmt.Errorf("drac: web login: %w", err)
	}
	c.mu.Lock()
	c.webIn, c.st2 = true, l.st2
	c.mu.Unlock()
	c.cfg.Logger.DebugContext(ctx, "drac: web session opened", "host", c.ep.host)
	return nil
}

// sessionGone reports whether a web interface answer means "log in
// first": 401 or 403, a redirect (to the login page), or an HTML page
// where XML was expected. Reconstructed: DRAC 5 firmware sends the
// browser back to its login page; the emulator answers 401.
func sessionGone(r *response) bool {
	switch {
	case r.status == http.StatusUnauthorized, r.status == http.StatusForbidden:
		return true
	case r.status/100 == 3:
		return true
	}
	return r.looksHTML()
}

// VirtualConsole opens a virtual console session (vkvm?state=1) and
// returns what a viewer needs to connect: the session id and the
// keyboard/mouse and video ports. It logs in first when needed, and once
// more when the card has dropped the session.
func (c *Legacy) VirtualConsole(ctx context.Context) (*KVMSession, error) {
	const op = "virtual console"
	if err := lock(ctx, c.webLock, op); err != nil {
		return nil, err
	}
	defer func() { <-c.webLock }()
	c.mu.Lock()
	in := c.webIn
	c.mu.Unlock()
	if !in {
		if err := c.webLogin(ctx); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(http.MethodGet, c.ep.url(vkvmPath), nil)
		if err != nil {
			return nil, fmt.Errorf("drac: %s: %w", op, redactURLError(err))
		}
		c.mu.Lock()
		if c.st2 != "" {
			req.Header.Set("ST2", c.st2)
		}
		c.mu.Unlock()
		resp, err := roundTrip(ctx, c.web, req, op)
		if err != nil {
			return nil, err
		}
		if sessionGone(resp) {
			if attempt > 0 {
				return nil, fmt.Errorf("drac: %s: HTTP %d right after a new login: %w", op, resp.status, ErrUnauthorized)
			}
			c.cfg.Logger.DebugContext(ctx, "drac: web session rejected, logging in again", "host", c.ep.host)
			if err := c.webLogin(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if resp.status != http.StatusOK {
			return nil, fmt.Errorf("drac: %s: HTTP %d: %w", op, resp.status, ErrProtocol)
		}
		s, err := decodeVKVM(resp.body)
		if err != nil {
			return nil, fmt.Errorf("drac: %s: %w", op, err)
		}
		return s, nil
	}
}

// Logout ends the web interface session.
func (c *Legacy) Logout(ctx context.Context) error {
	c.mu.Lock()
	in := c.webIn
	c.webIn, c.st2 = false, ""
	c.mu.Unlock()
	if !in {
		return nil
	}
	req, err := http.NewRequest(http.MethodPost, c.ep.url(webLogoutPath), nil)
	if err != nil {
		return fmt.Errorf("drac: web logout: %w", redactURLError(err))
	}
	resp, err := roundTrip(ctx, c.web, req, "web logout")
	if err != nil {
		return err
	}
	if resp.status/100 != 2 && !sessionGone(resp) {
		return fmt.Errorf("drac: web logout: HTTP %d: %w", resp.status, ErrProtocol)
	}
	return nil
}

// CommandError is a RACADM command that ran and failed: its return code
// and output.
type CommandError struct {
	Command string // "serveraction powercycle"
	Code    uint32 // CMDRC
	Output  string // "ERROR: ..."
}

// Error implements error.
func (e *CommandError) Error() string {
	return fmt.Sprintf("drac: racadm %s: status 0x%x: %s", e.Command, e.Code, clean(e.Output))
}

// RACADM runs one remote RACADM command, such as RACADM(ctx,
// "serveraction", "powerstatus"), and returns its output. A command that
// fails returns a *CommandError.
func (c *Legacy) RACADM(ctx context.Context, args ...string) (string, error) {
	cmd := strings.Join(args, " ")
	op := "racadm " + cmd
	var esc bytes.Buffer
	_ = xml.EscapeText(&esc, []byte("racadm "+cmd))
	body := "<?xml version='1.0'?><EXEC><REQ><CMDINPUT>" + esc.String() +
		"</CMDINPUT><MAXOUTPUTLEN>0x0fff</MAXOUTPUTLEN></REQ></EXEC>"
	for attempt := 0; ; attempt++ {
		sid, err := c.racSession(ctx, attempt > 0)
		if err != nil {
			return "", err
		}
		req, err := http.NewRequest(http.MethodPost, c.ep.url(racExecPath), strings.NewReader(body))
		if err != nil {
			return "", fmt.Errorf("drac: %s: %w", op, redactURLError(err))
		}
		req.Header.Set("Content-Type", "text/xml")
		req.AddCookie(&http.Cookie{Name: "sid", Value: sid})
		resp, err := roundTrip(ctx, c.rac, req, op)
		if err != nil {
			return "", err
		}
		if err := checkRACADM(resp, op); err != nil {
			return "", err
		}
		var code uint32
		var out string
		gone := resp.status == http.StatusUnauthorized || resp.status == http.StatusForbidden
		if !gone {
			if resp.status != http.StatusOK {
				return "", fmt.Errorf("drac: %s: HTTP %d: %w", op, resp.status, ErrProtocol)
			}
			code, out, err = decodeExec(resp.body)
			gone = errors.Is(err, errSession)
			if err != nil && !gone {
				return "", fmt.Errorf("drac: %s: %w", op, err)
			}
		}
		if gone {
			c.dropRACSession(sid)
			if attempt > 0 {
				return "", fmt.Errorf("drac: %s: session rejected right after a new login: %w", op, ErrUnauthorized)
			}
			c.cfg.Logger.DebugContext(ctx, "drac: RACADM session rejected, logging in again", "host", c.ep.host)
			continue
		}
		if code != 0 {
			return out, &CommandError{Command: cmd, Code: code, Output: out}
		}
		return out, nil
	}
}

// checkRACADM refuses an HTML page where RACADM XML was expected.
func checkRACADM(resp *response, op string) error {
	if resp.looksHTML() {
		return fmt.Errorf("drac: %s: HTTP %d with an HTML page, not RACADM XML (%q): %w",
			op, resp.status, snippet(resp.body), ErrProtocol)
	}
	return nil
}

func (c *Legacy) dropRACSession(sid string) {
	c.mu.Lock()
	if c.racSID == sid {
		c.racSID = ""
	}
	c.mu.Unlock()
}

// racSession returns the RACADM session id, logging in when there is
// none. Concurrent callers share one login.
func (c *Legacy) racSession(ctx context.Context, fresh bool) (string, error) {
	c.mu.Lock()
	sid := c.racSID
	c.mu.Unlock()
	if sid != "" && !fresh {
		return sid, nil
	}
	if err := lock(ctx, c.racLock, "racadm login"); err != nil {
		return "", err
	}
	defer func() { <-c.racLock }()
	c.mu.Lock()
	sid = c.racSID
	c.mu.Unlock()
	if sid != "" {
		return sid, nil // another caller logged in meanwhile
	}
	var u, p bytes.Buffer
	_ = xml.EscapeText(&u, []byte(c.cfg.Username))
	_ = xml.EscapeText(&p, []byte(c.cfg.Password))
	body := "<?xml version='1.0'?><LOGIN><REQ><USERNAME>" + u.String() + "</USERNAME><PASSWORD>" +
		p.String() + "</PASSWORD></REQ></LOGIN>"
	req, err := http.NewRequest(http.MethodPost, c.ep.url(racLoginPath), strings.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("drac: racadm login: %w", redactURLError(err))
	}
	req.Header.Set("Content-Type", "text/xml")
	resp, err := roundTrip(ctx, c.rac, req, "racadm login")
	if err != nil {
		return "", err
	}
	if err := checkRACADM(resp, "racadm login"); err != nil {
		return "", err
	}
	if resp.status != http.StatusOK {
		return "", fmt.Errorf("drac: racadm login: HTTP %d: %w", resp.status, ErrProtocol)
	}
	sid, err = decodeRACADMLogin(resp.body)
	if err != nil {
		return "", fmt.Errorf("drac: racadm login: %w", err)
	}
	c.mu.Lock()
	c.racSID = sid
	c.mu.Unlock()
	c.cfg.Logger.DebugContext(ctx, "drac: RACADM session opened", "host", c.ep.host)
	return sid, nil
}

// Close logs out of the RACADM session and of the web interface, where
// one is open.
func (c *Legacy) Close(ctx context.Context) error {
	c.mu.Lock()
	sid := c.racSID
	c.racSID = ""
	c.mu.Unlock()
	var errs []error
	if sid != "" {
		req, err := http.NewRequest(http.MethodPost, c.ep.url(racLogoutPath), nil)
		if err == nil {
			req.AddCookie(&http.Cookie{Name: "sid", Value: sid})
			_, err = roundTrip(ctx, c.rac, req, "racadm logout")
		}
		errs = append(errs, err)
	}
	errs = append(errs, c.Logout(ctx))
	return errors.Join(errs...)
}

// PowerState reads the power state (racadm serveraction powerstatus).
func (c *Legacy) PowerState(ctx context.Context) (pxelator.PowerState, error) {
	out, err := c.RACADM(ctx, "serveraction", "powerstatus")
	st := pxelator.PowerUnknown
	if err == nil {
		var ok bool
		if st, ok = decodePowerStatus(out); !ok {
			err = fmt.Errorf("drac: racadm serveraction powerstatus: output %q: %w", clean(out), ErrProtocol)
		}
	}
	c.cfg.record(ctx, c.ep.host, "power_state", auditFields("racadm", "state", string(st), "error", err))
	return st, err
}

// On powers the system on (powerup). Already on is not an error.
func (c *Legacy) On(ctx context.Context) error {
	return c.serverAction(ctx, "power_on", "powerup", "on")
}

// Off powers the system off at once (powerdown). Already off is not an
// error.
func (c *Legacy) Off(ctx context.Context) error {
	return c.serverAction(ctx, "power_off", "powerdown", "off")
}

// SoftOff asks the operating system to shut down (graceshutdown).
// Already off is not an error.
func (c *Legacy) SoftOff(ctx context.Context) error {
	return c.serverAction(ctx, "power_soft_off", "graceshutdown", "off")
}

// Cycle switches the power off and on again (powercycle).
func (c *Legacy) Cycle(ctx context.Context) error {
	return c.serverAction(ctx, "power_cycle", "powercycle", "")
}

// Reset restarts the system at once (hardreset).
func (c *Legacy) Reset(ctx context.Context) error {
	return c.serverAction(ctx, "power_reset", "hardreset", "")
}

// serverAction runs racadm serveraction action. already is the state
// ("on" or "off") in which a refusal saying "already powered ..." counts
// as success.
func (c *Legacy) serverAction(ctx context.Context, auditAction, action, already string) error {
	_, err := c.RACADM(ctx, "serveraction", action)
	result := "ok"
	var ce *CommandError
	if errors.As(err, &ce) {
		out := strings.ToLower(ce.Output)
		if already != "" && strings.Contains(out, "already") && strings.Contains(out, "powered "+already) {
			result, err = "already", nil
		} else {
			err = fmt.Errorf("%w: %w", ce, ErrNotAllowed)
		}
	}
	c.cfg.record(ctx, c.ep.host, auditAction, auditFields("racadm", "request", action, "result", result, "error", err))
	return err
}
