package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/boot"
)

// httpError is an error with the status it is answered with.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorStatus(status int, format string, args ...any) error {
	return &httpError{status: status, msg: fmt.Sprintf(format, args...)}
}

// statusOf returns the status to answer err with.
func statusOf(err error) int {
	var he *httpError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status
	case errors.As(err, &mb):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, pxelator.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, pxelator.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusBadRequest
}

// machineOf returns the machine named by the {mac} of r's path.
func (h *Handler) machineOf(r *http.Request) (pxelator.Machine, error) {
	mac, err := pxelator.ParseMAC(r.PathValue("mac"))
	if err != nil {
		return pxelator.Machine{}, errorStatus(http.StatusBadRequest, "web: %v", err)
	}
	m, err := h.Store.ByMAC(r.Context(), mac)
	if errors.Is(err, pxelator.ErrNotFound) {
		return m, errorStatus(http.StatusNotFound, "web: no machine with MAC address %v", mac)
	}
	if err != nil {
		return m, errorStatus(http.StatusInternalServerError, "web: store: %v", err)
	}
	return m, nil
}

// powerTimeout bounds one power action or state reading.
const powerTimeout = time.Minute

// doPower runs a power action on m.
func (h *Handler) doPower(ctx context.Context, r *http.Request, m pxelator.Machine, action string) error {
	if !validAction(action) {
		return errorStatus(http.StatusBadRequest, "web: unknown power action %q: want one of %s", clip(action, 32), strings.Join(powerActions[:], ", "))
	}
	if h.Power == nil {
		return errorStatus(http.StatusNotImplemented, "web: no power backend configured")
	}
	ctx, cancel := context.WithTimeout(ctx, powerTimeout)
	defer cancel()
	err := h.Power.Do(ctx, m, action)
	h.counts.power(action, err)
	fields := map[string]any{"action": action, "client": clientAddr(r).String()}
	if err != nil {
		fields["error"] = err.Error()
	}
	h.record(ctx, m, "power", fields)
	if err != nil {
		h.logger().Warn("web: power action failed", "machine", m, "action", action, "client", clientAddr(r), "err", err)
		if errors.Is(err, errors.ErrUnsupported) {
			return errorStatus(http.StatusConflict, "web: %s %v: %v", action, m.MAC, err)
		}
		return errorStatus(http.StatusBadGateway, "web: %s %v: %v", action, m.MAC, err)
	}
	h.logger().Info("web: power action", "machine", m, "action", action, "client", clientAddr(r))
	return nil
}

// readPower reads m's power state from its BMC.
func (h *Handler) readPower(ctx context.Context, m pxelator.Machine) (*PowerInfo, error) {
	if h.Power == nil {
		return nil, errorStatus(http.StatusNotImplemented, "web: no power backend configured")
	}
	ctx, cancel := context.WithTimeout(ctx, powerTimeout)
	defer cancel()
	st, err := h.Power.State(ctx, m)
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return nil, errorStatus(http.StatusConflict, "web: reading the power state of %v: %v", m.MAC, err)
		}
		return nil, errorStatus(http.StatusBadGateway, "web: reading the power state of %v: %v", m.MAC, err)
	}
	return &PowerInfo{State: st, Time: h.now(), Source: "bmc"}, nil
}

// Change is a change of a machine through PATCH /api/machines/{mac};
// members left out are not changed.
type Change struct {
	Hostname *string `json:"hostname,omitempty"`
	Profile  *string `json:"profile,omitempty"`
	// ProfileOnce is the profile the machine boots once from the network,
	// after which boot switches it to the local disk (profile "once" of
	// package boot, with once.profile); "" cancels it.
	ProfileOnce *string `json:"profile_once,omitempty"`
	Netboot     *bool   `json:"netboot,omitempty"`
}

// maxProfile bounds a profile name.
const maxProfile = 64

func (h *Handler) checkProfile(p string) error {
	if p == "" {
		return nil
	}
	if len(p) > maxProfile || p[0] == '.' || strings.ContainsAny(p, "/\\\x00\r\n\t ") {
		return errorStatus(http.StatusBadRequest, "web: bad profile name %q", clip(p, maxProfile))
	}
	if h.Profiles != nil {
		if known := h.Profiles(); len(known) > 0 && !slices.Contains(known, p) {
			return errorStatus(http.StatusBadRequest, "web: unknown profile %q: want one of %s", p, strings.Join(known, ", "))
		}
	}
	return nil
}

// change applies c to the machine with m's MAC address in the store.
func (h *Handler) change(ctx context.Context, r *http.Request, m pxelator.Machine, c Change) (pxelator.Machine, error) {
	fields := map[string]any{"client": clientAddr(r).String()}
	if c.Profile != nil {
		if err := h.checkProfile(*c.Profile); err != nil {
			return m, err
		}
	}
	if c.ProfileOnce != nil {
		if err := h.checkProfile(*c.ProfileOnce); err != nil {
			return m, err
		}
	}
	// Read the machine again: it may have changed since the page.
	m, err := h.Store.ByMAC(ctx, m.MAC)
	if err != nil {
		return m, err
	}
	if c.Hostname != nil {
		m.Hostname = strings.TrimSpace(*c.Hostname)
		fields["hostname"] = m.Hostname
	}
	if c.Profile != nil {
		m.Profile = *c.Profile
		fields["profile"] = m.Profile
	}
	if c.ProfileOnce != nil {
		switch {
		case *c.ProfileOnce != "":
			m.Profile = boot.ProfileOnce
			m.Set(boot.AttrOnceProfile, *c.ProfileOnce)
			m.Set(boot.AttrOnceBooted, "")
		case m.Profile == boot.ProfileOnce: // cancelled: the local disk it would have ended on
			m.Profile = boot.ProfileLocal
			m.Set(boot.AttrOnceProfile, "")
		}
		fields["profile_once"] = *c.ProfileOnce
	}
	if c.Netboot != nil {
		v := ""
		if !*c.Netboot {
			v = "false"
		}
		m.Set(pxelator.AttrNetboot, v)
		fields["netboot"] = *c.Netboot
	}
	if len(fields) == 1 {
		return m, errorStatus(http.StatusBadRequest, "web: nothing to change")
	}
	if err := m.Validate(); err != nil {
		return m, errorStatus(http.StatusBadRequest, "%v", err)
	}
	if err := h.Store.Put(ctx, m); err != nil {
		if errors.Is(err, pxelator.ErrConflict) {
			return m, errorStatus(http.StatusConflict, "web: %v", err)
		}
		return m, errorStatus(http.StatusInternalServerError, "web: store: %v", err)
	}
	h.record(ctx, m, "change", fields)
	h.logger().Info("web: machine changed", "machine", m, "client", clientAddr(r))
	return m, nil
}

// record sends an audit event about an action on m.
func (h *Handler) record(ctx context.Context, m pxelator.Machine, action string, fields map[string]any) {
	audit.Record(context.WithoutCancel(ctx), h.Recorder, audit.Event{
		Package: "web", Action: action, IP: m.IP, MAC: m.MAC, Hostname: m.Hostname, Fields: fields,
	})
}

// counters counts the power actions done through the Handler.
type counters struct {
	ok, failed [len(powerActions)]atomic.Uint64
}

func (c *counters) power(action string, err error) {
	i := slices.Index(powerActions[:], action)
	if i < 0 {
		return
	}
	if err != nil {
		c.failed[i].Add(1)
	} else {
		c.ok[i].Add(1)
	}
}
