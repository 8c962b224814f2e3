package drac

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/pxelator/pxelator"
)

// Redfish paths of an iDRAC (and of any Redfish service).
const (
	systemsPath  = "/redfish/v1/Systems"
	sessionsPath = "/redfish/v1/SessionService/Sessions"
)

// Redfish is a client of the Redfish API of an iDRAC (iDRAC 7 and later,
// firmware 2.40 and later): power state and power actions of one
// ComputerSystem. [NewRedfish] and [NewRedfishFor] return one.
//
// By default it logs in with a Redfish session (X-Auth-Token) on first
// use, logs in again once when the BMC says the session is gone, and
// logs out on Close. With [Config.BasicAuth] it sends HTTP Basic
// credentials on every request instead.
//
// A Redfish is safe for concurrent use.
type Redfish struct {
	cfg   Config
	ep    endpoint
	hc    *http.Client
	login chan struct{} // a one-slot lock: one login at a time

	mu      sync.Mutex
	token   string // X-Auth-Token of the current session
	session string // the session's URI, for logout
	sys     *System
}

// NewRedfish returns a Redfish client of the iDRAC at address, which is
// "host", "host:port" or "https://host:port" (the scheme defaults to
// https) and must not hold credentials: they go in cfg.
func NewRedfish(address string, cfg Config) (*Redfish, error) {
	ep, err := parseAddress("redfish", address)
	if err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	return &Redfish{
		cfg:   cfg,
		ep:    ep,
		hc:    newHTTPClient(cfg.HTTPClient, cfg.InsecureSkipVerify, nil),
		login: make(chan struct{}, 1),
	}, nil
}

// Login opens a Redfish session now. The power methods log in by
// themselves when needed; Login lets a caller check the credentials early.
// With BasicAuth it only checks that the service answers.
func (c *Redfish) Login(ctx context.Context) error {
	if c.cfg.BasicAuth {
		_, err := c.do(ctx, http.MethodGet, systemsPath, nil, "login")
		return err
	}
	return c.relogin(ctx, c.currentToken())
}

func (c *Redfish) currentToken() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}

// relogin logs in unless another goroutine already replaced the stale
// token, so that many callers seeing one expired session cause one login.
func (c *Redfish) relogin(ctx context.Context, stale string) error {
	select {
	case c.login <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("drac: login: %w", ctx.Err())
	}
	defer func() { <-c.login }()
	if tok := c.currentToken(); tok != "" && tok != stale {
		return nil
	}
	body, err := json.Marshal(map[string]string{"UserName": c.cfg.Username, "Password": c.cfg.Password})
	if err != nil {
		return fmt.Errorf("drac: login: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, c.ep.url(sessionsPath), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("drac: login: %w", redactURLError(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := roundTrip(ctx, c.hc, req, "login")
	if err != nil {
		return err
	}
	if err := checkJSON(resp, "login"); err != nil {
		return err
	}
	if resp.status/100 != 2 {
		e := decodeError("login", resp.status, resp.body)
		if resp.status == http.StatusBadRequest {
			// iDRAC answers a wrong password to a session login with 401;
			// some firmware uses 400. Either is a refusal.
			return fmt.Errorf("%w: %w", e, ErrUnauthorized)
		}
		return e
	}
	tok := resp.header.Get("X-Auth-Token")
	if tok == "" {
		return fmt.Errorf("drac: login: HTTP %d without X-Auth-Token: %w", resp.status, ErrProtocol)
	}
	loc := resp.header.Get("Location")
	if loc == "" {
		var j odataLink
		if json.Unmarshal(resp.body, &j) == nil {
			loc = j.ID
		}
	}
	c.mu.Lock()
	c.token, c.session = tok, loc
	c.mu.Unlock()
	c.cfg.Logger.DebugContext(ctx, "drac: redfish session opened", "host", c.ep.host)
	return nil
}

// Close ends the Redfish session, if one is open. The Redfish can be used
// again afterwards: it logs in anew.
func (c *Redfish) Close(ctx context.Context) error {
	c.mu.Lock()
	tok, loc := c.token, c.session
	c.token, c.session = "", ""
	c.mu.Unlock()
	if tok == "" || loc == "" {
		return nil
	}
	// Only the path of the session URI is used: the token never goes to
	// another host than the one logged in to.
	u, err := url.Parse(loc)
	if err != nil || u.Path == "" {
		return fmt.Errorf("drac: logout: bad session URI: %w", ErrProtocol)
	}
	target := c.ep.url(u.Path)
	req, err := http.NewRequest(http.MethodDelete, target, nil)
	if err != nil {
		return fmt.Errorf("drac: logout: %w", redactURLError(err))
	}
	req.Header.Set("X-Auth-Token", tok)
	resp, err := roundTrip(ctx, c.hc, req, "logout")
	if err != nil {
		return err
	}
	switch {
	case resp.status/100 == 2, resp.status == http.StatusNotFound, resp.status == http.StatusUnauthorized:
		// Gone already counts as logged out.
		return nil
	}
	return decodeError("logout", resp.status, resp.body)
}

// checkJSON refuses an HTML page where Redfish JSON was expected.
func checkJSON(resp *response, op string) error {
	if resp.looksHTML() {
		return fmt.Errorf("drac: %s: HTTP %d with an HTML page, not Redfish JSON (%q): %w",
			op, resp.status, snippet(resp.body), ErrProtocol)
	}
	return nil
}

// do sends one request with authentication, logging in again once when
// the session has expired. A non-2xx status is returned as an *Error,
// except 409 which the caller interprets: the response is returned too.
func (c *Redfish) do(ctx context.Context, method, path string, body []byte, op string) (*response, error) {
	if !c.cfg.BasicAuth && c.currentToken() == "" {
		if err := c.relogin(ctx, ""); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, c.ep.url(path), rd)
		if err != nil {
			return nil, fmt.Errorf("drac: %s: %w", op, redactURLError(err))
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("OData-Version", "4.0")
		tok := ""
		if c.cfg.BasicAuth {
			req.SetBasicAuth(c.cfg.Username, c.cfg.Password)
		} else {
			tok = c.currentToken()
			req.Header.Set("X-Auth-Token", tok)
		}
		resp, err := roundTrip(ctx, c.hc, req, op)
		if err != nil {
			return nil, err
		}
		if err := checkJSON(resp, op); err != nil {
			return nil, err
		}
		if resp.status == http.StatusUnauthorized && !c.cfg.BasicAuth && attempt == 0 {
			// The session expired or was deleted on the BMC: log in once
			// more and repeat the request once.
			c.cfg.Logger.DebugContext(ctx, "drac: redfish session rejected, logging in again", "host", c.ep.host)
			if err := c.relogin(ctx, tok); err != nil {
				return nil, err
			}
			continue
		}
		if resp.status/100 == 2 || resp.status == http.StatusConflict {
			return resp, nil
		}
		e := decodeError(op, resp.status, resp.body)
		if resp.status == http.StatusUnauthorized && !c.cfg.BasicAuth {
			return nil, fmt.Errorf("%w (rejected again right after a new login)", e)
		}
		return nil, e
	}
}

// System reads the ComputerSystem resource, discovering its path on
// first use when [Config.SystemID] is empty.
func (c *Redfish) System(ctx context.Context) (*System, error) {
	path, err := c.systemPath(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, http.MethodGet, path, nil, "GET system")
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, decodeError("GET system", resp.status, resp.body)
	}
	sys, err := decodeSystem(resp.body)
	if err != nil {
		return nil, fmt.Errorf("drac: GET system: %w", err)
	}
	if sys.Path == "" {
		sys.Path = path
	}
	c.mu.Lock()
	c.sys = sys
	c.mu.Unlock()
	return sys, nil
}

// systemPath returns the path of the system resource.
func (c *Redfish) systemPath(ctx context.Context) (string, error) {
	if c.cfg.SystemID != "" {
		return systemsPath + "/" + url.PathEscape(c.cfg.SystemID), nil
	}
	c.mu.Lock()
	sys := c.sys
	c.mu.Unlock()
	if sys != nil {
		return sys.Path, nil
	}
	resp, err := c.do(ctx, http.MethodGet, systemsPath, nil, "GET systems")
	if err != nil {
		return "", err
	}
	if resp.status != http.StatusOK {
		return "", decodeError("GET systems", resp.status, resp.body)
	}
	members, err := decodeMembers(resp.body)
	if err != nil {
		return "", fmt.Errorf("drac: GET systems: %w", err)
	}
	switch len(members) {
	case 0:
		return "", fmt.Errorf("drac: GET systems: %w", errNoSystem)
	case 1:
	default:
		return "", fmt.Errorf("drac: GET systems: the BMC lists %d systems; set SystemID", len(members))
	}
	p := members[0]
	if u, err := url.Parse(p); err == nil && u.IsAbs() {
		p = u.Path
	}
	if !strings.HasPrefix(p, systemsPath+"/") {
		return "", fmt.Errorf("drac: GET systems: member %q is not under %s: %w", clean(p), systemsPath, ErrProtocol)
	}
	return p, nil
}

// PowerState reads the system's power state.
func (c *Redfish) PowerState(ctx context.Context) (pxelator.PowerState, error) {
	sys, err := c.System(ctx)
	if err != nil {
		c.cfg.record(ctx, c.ep.host, "power_state", auditFields("redfish", "error", err))
		return pxelator.PowerUnknown, err
	}
	st := sys.Power()
	c.cfg.record(ctx, c.ep.host, "power_state", auditFields("redfish", "state", string(st), "redfish_state", sys.PowerState))
	return st, nil
}

// On powers the system on. A system that is already on is not an error.
func (c *Redfish) On(ctx context.Context) error { return c.action(ctx, "power_on", ResetOn) }

// Off powers the system off at once (ForceOff). A system that is
// already off is not an error.
func (c *Redfish) Off(ctx context.Context) error { return c.action(ctx, "power_off", ResetForceOff) }

// SoftOff asks the operating system to shut down (GracefulShutdown). A
// system that is already off is not an error.
func (c *Redfish) SoftOff(ctx context.Context) error {
	return c.action(ctx, "power_soft_off", ResetGracefulShutdown)
}

// Cycle switches the power off and on again (PowerCycle).
func (c *Redfish) Cycle(ctx context.Context) error {
	return c.action(ctx, "power_cycle", ResetPowerCycle)
}

// Reset restarts the system at once (ForceRestart).
func (c *Redfish) Reset(ctx context.Context) error {
	return c.action(ctx, "power_reset", ResetForceRestart)
}

// PowerAction sends any ComputerSystem.Reset type, such as "Nmi" or
// "PushPowerButton". A type the system does not list as allowable gives
// an error wrapping [errors.ErrUnsupported]. A 409 answer is an error
// here, except for On, ForceOff and GracefulShutdown, where it means the
// system already is in the requested state.
func (c *Redfish) PowerAction(ctx context.Context, resetType string) error {
	return c.action(ctx, "power_action", resetType)
}

func (c *Redfish) action(ctx context.Context, auditAction, resetType string) error {
	err := c.reset(ctx, resetType)
	result := "ok"
	if errors.Is(err, errAlready) {
		result, err = "already", nil
	}
	c.cfg.record(ctx, c.ep.host, auditAction, auditFields("redfish", "request", resetType, "result", result, "error", err))
	return err
}

// errAlready marks a 409 that means "already in the requested state".
var errAlready = errors.New("already in that state")

func (c *Redfish) reset(ctx context.Context, resetType string) error {
	op := "reset " + resetType
	c.mu.Lock()
	sys := c.sys
	c.mu.Unlock()
	if sys == nil {
		var err error
		if sys, err = c.System(ctx); err != nil {
			return err
		}
	}
	if !sys.allows(resetType) {
		return fmt.Errorf("drac: %s: the system offers only %s: %w",
			op, strings.Join(sys.ResetTypes, ", "), errors.ErrUnsupported)
	}
	target := sys.ResetTarget
	if target == "" {
		target = sys.Path + "/Actions/ComputerSystem.Reset"
	}
	if u, err := url.Parse(target); err == nil && u.IsAbs() {
		target = u.Path
	}
	body, err := json.Marshal(map[string]string{"ResetType": resetType})
	if err != nil {
		return fmt.Errorf("drac: %s: %w", op, err)
	}
	resp, err := c.do(ctx, http.MethodPost, target, body, op)
	if err != nil {
		return err
	}
	if resp.status == http.StatusConflict {
		e := decodeError(op, resp.status, resp.body)
		switch resetType {
		case ResetOn, ResetForceOff, ResetGracefulShutdown:
			return fmt.Errorf("%w: %w", errAlready, e)
		}
		return e
	}
	return nil
}
