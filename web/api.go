package web

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"web: encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// apiError answers {"error": msg}.
func (h *Handler) apiError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func (h *Handler) apiFail(w http.ResponseWriter, err error) {
	h.apiError(w, statusOf(err), err.Error())
}

// decodeJSON reads one JSON object of at most maxFormBytes into v,
// refusing unknown members.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errorStatus(http.StatusUnsupportedMediaType, "web: want Content-Type application/json, not %q", clip(ct, 64))
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFormBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return errorStatus(http.StatusBadRequest, "web: empty body: want a JSON object")
		}
		return errorStatus(http.StatusBadRequest, "web: bad JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errorStatus(http.StatusBadRequest, "web: bad JSON: more than one value")
	}
	return nil
}

func (h *Handler) needAudit(w http.ResponseWriter) bool {
	if h.Audit == nil {
		h.apiError(w, http.StatusNotImplemented, "web: no audit store configured")
		return false
	}
	return true
}

// machineList is the answer of GET /api/machines.
type machineList struct {
	Total    int           `json:"total"`
	Page     int           `json:"page"`
	Per      int           `json:"per"`
	Pages    int           `json:"pages"`
	Machines []MachineInfo `json:"machines"`
}

func (h *Handler) apiSummary(w http.ResponseWriter, r *http.Request) {
	all, err := h.Store.List(r.Context())
	if err != nil {
		h.apiError(w, http.StatusInternalServerError, "web: store: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, h.summarize(r.Context(), all))
}

func (h *Handler) apiMachines(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		h.apiFail(w, err)
		return
	}
	l, _, err := h.list(r.Context(), q)
	if err != nil {
		h.apiError(w, http.StatusInternalServerError, "web: store: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, machineList{
		Total: l.Total, Page: q.Page, Per: q.Per, Pages: l.Pages,
		Machines: h.describe(r.Context(), l.Machines, redactorOf(l.Machines)),
	})
}

func (h *Handler) apiMachine(w http.ResponseWriter, r *http.Request) {
	m, err := h.machineOf(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.describe(r.Context(), []pxelator.Machine{m}, h.redactor(r.Context()))[0])
}

func (h *Handler) apiPatchMachine(w http.ResponseWriter, r *http.Request) {
	m, err := h.machineOf(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	var c Change
	if err := decodeJSON(w, r, &c); err != nil {
		h.apiFail(w, err)
		return
	}
	if m, err = h.change(r.Context(), r, m, c); err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, info(m))
}

// eventPage is the answer of the event routes.
type eventPage struct {
	Documents []audit.Document `json:"documents"`
	Next      string           `json:"next,omitempty"`
}

func (h *Handler) apiEvents(w http.ResponseWriter, r *http.Request) {
	m, err := h.machineOf(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	if !h.needAudit(w) {
		return
	}
	v := r.URL.Query()
	q, err := parseSearch(v, modeEvents, h.now(), h.loc())
	if err == nil && q.Filter.Machine != "" {
		err = errorStatus(http.StatusBadRequest, "web: parameter machine: the machine is the one of the path")
	}
	if err != nil {
		h.apiFail(w, err)
		return
	}
	p, err := h.machineEvents(r.Context(), m, audit.EventsQuery{Filter: q.Filter, Limit: q.Limit, Cursor: q.Cursor})
	if err != nil {
		h.apiError(w, http.StatusServiceUnavailable, "web: audit: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, eventPage{Documents: nonNil(h.redactor(r.Context()).docs(p.Documents)), Next: p.Next})
}

func nonNil(ds []audit.Document) []audit.Document {
	if ds == nil {
		return []audit.Document{}
	}
	return ds
}

func (h *Handler) apiBoot(w http.ResponseWriter, r *http.Request) {
	m, err := h.machineOf(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	if !h.needAudit(w) {
		return
	}
	b, err := h.bootProgress(r.Context(), m)
	if err != nil {
		h.apiError(w, http.StatusServiceUnavailable, "web: audit: "+err.Error())
		return
	}
	if b == nil {
		h.apiError(w, http.StatusNotFound, "web: the audit holds no DHCP request of "+m.MAC.String())
		return
	}
	red := h.redactor(r.Context())
	for i := range b.Steps {
		b.Steps[i].Detail = red.str(b.Steps[i].Detail)
	}
	writeJSON(w, http.StatusOK, b)
}

func (h *Handler) apiPowerState(w http.ResponseWriter, r *http.Request) {
	m, err := h.machineOf(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	p, err := h.readPower(r.Context(), m)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// PowerRequest is the body of POST /api/machines/{mac}/power.
type PowerRequest struct {
	Action string `json:"action"` // one of the Action constants
}

func (h *Handler) apiPower(w http.ResponseWriter, r *http.Request) {
	m, err := h.machineOf(r)
	if err != nil {
		h.apiFail(w, err)
		return
	}
	var req PowerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		h.apiFail(w, err)
		return
	}
	if err := h.doPower(r.Context(), r, m, req.Action); err != nil {
		h.apiFail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"mac": m.MAC.String(), "action": req.Action, "result": "done"})
}

func (h *Handler) apiAudit(w http.ResponseWriter, r *http.Request, mode string) {
	if !h.needAudit(w) {
		return
	}
	q, err := parseSearch(r.URL.Query(), mode, h.now(), h.loc())
	if err != nil {
		h.apiFail(w, err)
		return
	}
	if mode == modeEvents {
		p, err := h.searchEvents(r.Context(), q)
		if err != nil {
			h.apiError(w, http.StatusServiceUnavailable, "web: audit: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, eventPage{Documents: nonNil(h.redactor(r.Context()).docs(p.Documents)), Next: p.Next})
		return
	}
	rows, err := h.searchGroups(r.Context(), q)
	if err != nil {
		h.apiError(w, http.StatusServiceUnavailable, "web: audit: "+err.Error())
		return
	}
	if rows == nil {
		rows = []groupRow{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"by": q.By, "groups": rows})
}

func (h *Handler) apiAuditEvents(w http.ResponseWriter, r *http.Request) {
	h.apiAudit(w, r, modeEvents)
}
func (h *Handler) apiAuditCount(w http.ResponseWriter, r *http.Request) { h.apiAudit(w, r, modeCount) }
func (h *Handler) apiAuditStats(w http.ResponseWriter, r *http.Request) { h.apiAudit(w, r, modeAvg) }
