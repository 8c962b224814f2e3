package web

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Power switches machines and reads their power state: what the power
// buttons and the power API need of a power backend (wake-on-LAN, AMT or
// DRAC, picked from the machine's attributes).
type Power interface {
	// Do performs one of the actions [ActionWake], [ActionOn],
	// [ActionOff], [ActionSoftOff], [ActionCycle] or [ActionReset] on m.
	Do(ctx context.Context, m pxelator.Machine, action string) error
	// State reads m's power state from its BMC.
	State(ctx context.Context, m pxelator.Machine) (pxelator.PowerState, error)
}

// Power actions, the values of the "action" form field and JSON member.
const (
	ActionWake    = "wake"     // send a wake-on-LAN packet
	ActionOn      = "on"       // switch on through the machine's backend
	ActionOff     = "off"      // switch off hard
	ActionSoftOff = "soft-off" // ask the operating system to shut down
	ActionCycle   = "cycle"    // off, then on
	ActionReset   = "reset"    // hard reset
)

// powerActions lists the actions in the order of the buttons.
var powerActions = [...]string{ActionWake, ActionOn, ActionSoftOff, ActionOff, ActionCycle, ActionReset}

func validAction(a string) bool {
	for _, p := range powerActions {
		if a == p {
			return true
		}
	}
	return false
}

// Monitor tells whether machines answer pings.
type Monitor interface {
	// Status returns what the monitor last saw of m; ok is false when it
	// does not watch m.
	Status(m pxelator.Machine) (s Status, ok bool)
}

// Status is a machine's reachability as a [Monitor] sees it.
type Status struct {
	Up bool `json:"up"`
	// Expected reports, for a machine that is down, that it is expected
	// down: its schedule switched it off.
	Expected  bool          `json:"expected,omitempty"`
	Since     time.Time     `json:"since"`               // when it last went up or down
	RTT       time.Duration `json:"rtt_ns"`              // the round-trip time of the last reply
	LastReply time.Time     `json:"last_reply,omitzero"` // when it last answered
}

// Schedule gives machines' planned power changes (kiosks: on at 07:30,
// off at 20:30).
type Schedule interface {
	// Plan returns m's schedule and its next planned times; ok is false
	// when m has none.
	Plan(m pxelator.Machine) (p Plan, ok bool)
}

// Plan is a machine's schedule as a [Schedule] tells it.
type Plan struct {
	// Schedule says it as its attributes read: "on 07:30 off 20:30 mon-fri".
	Schedule string    `json:"schedule"`
	NextOn   time.Time `json:"next_on,omitzero"` // zero when none is planned
	NextOff  time.Time `json:"next_off,omitzero"`
	// Error says why the machine's schedule attributes are ignored.
	Error string `json:"error,omitempty"`
}

// Handler serves the web overview of a network segment: the machines of
// a [pxelator.Store] with what the audit, the power backends and the
// monitor know of them, their pages with events, plots and forms, the
// audit search, a JSON API and Prometheus metrics. See the package
// documentation for the routes and the login.
//
// The zero value is not usable: set Store. The fields must not change
// once the Handler serves.
type Handler struct {
	// Store holds the machines; it is required.
	Store pxelator.Store
	// Audit answers the audit queries: last seen, events, boot
	// progress, plots, the audit search. Nil leaves them out.
	Audit audit.Querier
	// Recorder, if set, receives an event (package "web") for every
	// action done through the Handler.
	Recorder audit.Recorder
	// Power, if set, gives the power buttons and the power API.
	Power Power
	// Monitor, if set, gives the up/down and round-trip columns.
	Monitor Monitor
	// Schedule, if set, gives the kiosk schedule column.
	Schedule Schedule
	// Profiles, if set, lists the boot profiles the profile form offers.
	Profiles func() []string
	// Metrics, if set, is served at /metrics in the Prometheus text
	// format. The Handler is a prometheus.Collector of its own numbers
	// (machines, up and down, power actions): register it there.
	Metrics prometheus.Gatherer

	// Token is the login: the secret a person types at /login and an
	// API client sends as "Authorization: Bearer <token>". Empty means
	// that nothing can be changed.
	Token string
	// ReadNetworks are the client networks, beyond loopback, that may
	// read without a login.
	ReadNetworks []netip.Prefix

	// Location is the time zone of the pages; nil means time.Local.
	Location *time.Location
	// Logger receives a line per action and per failed query; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	once     sync.Once
	mux      *http.ServeMux
	tmpl     *template.Template
	sessions sessions
	counts   counters
	today    todayCache
}

//go:embed templates static
var files embed.FS

// ServeHTTP answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	setSecurityHeaders(w)
	if h.Store == nil {
		http.Error(w, "web: no store", http.StatusServiceUnavailable)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) init() {
	h.tmpl = template.Must(template.New("").Funcs(funcs(h)).ParseFS(files, "templates/*.html"))
	h.sessions.init()
	mux := http.NewServeMux()
	static, _ := fs.Sub(files, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)

	read := func(pattern string, f http.HandlerFunc) { mux.Handle(pattern, h.reader(f)) }
	read("POST /logout", h.form(h.logout))
	read("GET /{$}", h.overviewPage)
	read("GET /machines/{mac}", h.machinePage)
	read("POST /machines/{mac}/power", h.form(h.powerForm))
	read("POST /machines/{mac}/netboot", h.form(h.netbootForm))
	read("POST /machines/{mac}/profile", h.form(h.profileForm))
	read("POST /machines/{mac}/hostname", h.form(h.hostnameForm))
	read("GET /audit", h.auditPage)

	read("GET /api/summary", h.apiSummary)
	read("GET /api/machines", h.apiMachines)
	read("GET /api/machines/{mac}", h.apiMachine)
	read("PATCH /api/machines/{mac}", h.bearer(h.apiPatchMachine))
	read("GET /api/machines/{mac}/events", h.apiEvents)
	read("GET /api/machines/{mac}/boot", h.apiBoot)
	read("GET /api/machines/{mac}/power", h.apiPowerState)
	read("POST /api/machines/{mac}/power", h.bearer(h.apiPower))
	read("GET /api/audit/events", h.apiAuditEvents)
	read("GET /api/audit/count", h.apiAuditCount)
	read("GET /api/audit/stats", h.apiAuditStats)
	if h.Metrics != nil {
		read("GET /metrics", promhttp.HandlerFor(h.Metrics, promhttp.HandlerOpts{}).ServeHTTP)
	}
	h.mux = mux
}

func setSecurityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Frame-Options", "DENY")
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) loc() *time.Location {
	if h.Location != nil {
		return h.Location
	}
	return time.Local
}
