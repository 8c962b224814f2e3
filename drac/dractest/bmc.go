package dractest

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"

	"github.com/pxelator/pxelator"
)

// SystemID is the Id of the emulated ComputerSystem, as on every iDRAC.
const SystemID = "System.Embedded.1"

// defaultResetTypes are the reset types an iDRAC 9 offers (from a
// captured ComputerSystem resource).
var defaultResetTypes = []string{"On", "ForceOff", "ForceRestart", "GracefulRestart",
	"GracefulShutdown", "PushPowerButton", "Nmi", "PowerCycle"}

// BMC is an emulated iDRAC: an http.Handler serving Redfish, the legacy
// web interface and remote RACADM over one power state. The zero value
// is not usable; create one with [New]. A BMC is safe for concurrent use.
type BMC struct {
	user, password string

	mu         sync.Mutex
	on         bool
	resetTypes []string
	tokens     map[string]string // X-Auth-Token -> session id
	nextID     int
	webSIDs    map[string]bool
	racSIDs    map[string]bool
	logins     int
	refused    int
	requests   int
	actions    []string
	kmPort     int
	videoPort  int
	encrypted  bool
}

// New returns a BMC that accepts user and password, with the system
// powered on and every reset type of an iDRAC 9 allowed.
func New(user, password string) *BMC {
	return &BMC{
		user:       user,
		password:   password,
		on:         true,
		resetTypes: slices.Clone(defaultResetTypes),
		tokens:     make(map[string]string),
		webSIDs:    make(map[string]bool),
		racSIDs:    make(map[string]bool),
		kmPort:     5900,
		videoPort:  5901,
		encrypted:  true,
	}
}

// NewServer starts an HTTP server for b. The caller closes it.
func NewServer(b *BMC) *httptest.Server { return httptest.NewServer(b) }

// NewTLSServer starts an HTTPS server for b with a self-signed
// certificate, like a real card's; its Client trusts it. The caller
// closes it.
func NewTLSServer(b *BMC) *httptest.Server { return httptest.NewTLSServer(b) }

// ServeHTTP implements http.Handler.
func (b *BMC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.requests++
	b.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/redfish/"):
		b.serveRedfish(w, r)
	case strings.HasPrefix(r.URL.Path, "/cgi-bin/webcgi/"):
		b.serveWeb(w, r)
	case strings.HasPrefix(r.URL.Path, "/cgi-bin/"):
		b.serveRACADM(w, r)
	default:
		http.NotFound(w, r)
	}
}

// Power returns the emulated system's power state.
func (b *BMC) Power() pxelator.PowerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.on {
		return pxelator.PowerOn
	}
	return pxelator.PowerOff
}

// SetPower sets the power state: [pxelator.PowerOn] or anything else for
// off.
func (b *BMC) SetPower(s pxelator.PowerState) {
	b.mu.Lock()
	b.on = s == pxelator.PowerOn
	b.mu.Unlock()
}

// SetResetTypes sets the reset types the system lists as allowable; the
// others are refused with 400.
func (b *BMC) SetResetTypes(types ...string) {
	b.mu.Lock()
	b.resetTypes = slices.Clone(types)
	b.mu.Unlock()
}

// SetVirtualConsole sets the ports and the encryption flag the virtual
// console session reports (5900, 5901 and true by default).
func (b *BMC) SetVirtualConsole(kmPort, videoPort int, encrypted bool) {
	b.mu.Lock()
	b.kmPort, b.videoPort, b.encrypted = kmPort, videoPort, encrypted
	b.mu.Unlock()
}

// ExpireSessions forgets every session of every interface, as a card
// does after its idle timeout or a reset.
func (b *BMC) ExpireSessions() {
	b.mu.Lock()
	clear(b.tokens)
	clear(b.webSIDs)
	clear(b.racSIDs)
	b.mu.Unlock()
}

// Sessions returns the number of open sessions of all interfaces.
func (b *BMC) Sessions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.tokens) + len(b.webSIDs) + len(b.racSIDs)
}

// Logins returns the number of successful logins of all interfaces.
func (b *BMC) Logins() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.logins
}

// Refused returns the number of requests refused for want of valid
// credentials or a valid session.
func (b *BMC) Refused() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.refused
}

// Requests returns the number of requests served.
func (b *BMC) Requests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests
}

// Actions returns the power actions carried out, in order, as Redfish
// reset types or RACADM serveraction names.
func (b *BMC) Actions() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.actions)
}

// credentials reports whether user and password are the BMC's, in
// constant time.
func (b *BMC) credentials(user, password string) bool {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(b.user))
	p := subtle.ConstantTimeCompare([]byte(password), []byte(b.password))
	return u&p == 1
}

// newToken returns a random session token.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// transition applies a power request to the state machine, with b.mu
// held. It returns "" when done, or why it cannot be done: errAlreadyOn,
// errAlreadyOff or errPoweredOff.
func (b *BMC) transition(request string) string {
	switch request {
	case "On", "powerup":
		if b.on {
			return errAlreadyOn
		}
		b.on = true
	case "ForceOff", "GracefulShutdown", "powerdown", "graceshutdown":
		if !b.on {
			return errAlreadyOff
		}
		b.on = false
	case "ForceRestart", "GracefulRestart", "PowerCycle", "Nmi", "powercycle", "hardreset":
		if !b.on {
			return errPoweredOff
		}
	case "PushPowerButton":
		b.on = !b.on
	}
	b.actions = append(b.actions, request)
	return ""
}

const (
	errAlreadyOn  = "already on"
	errAlreadyOff = "already off"
	errPoweredOff = "powered off"
)
