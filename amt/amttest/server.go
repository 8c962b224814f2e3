package amttest

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"

	"github.com/icholy/digest"
	"github.com/pxelator/pxelator"
)

// Defaults of [Options].
const (
	DefaultUsername  = "admin"
	DefaultPassword  = "P@ssw0rd"
	DefaultRealm     = "Digest:A4070000000000000000000000000000"
	DefaultNonceUses = 4
)

// Options configure a [Server]. The zero value is a device that is on,
// with user admin and password P@ssw0rd.
type Options struct {
	Username, Password string
	Realm              string

	// QOP is the qop attribute of the challenge as sent, such as "auth"
	// (the default), "auth-int, auth" (AMT 16) or "auth,auth-int".
	QOP string

	// NonceUses is how many requests a nonce is good for; the next one
	// is answered 401 with stale="true" and a new nonce. Default 4.
	NonceUses int

	// State is the initial power state; the default is on.
	State pxelator.PowerState

	// Version is the ProductVersion Identify answers; default "AMT 11.8".
	Version string

	// NoGet makes the WS-Transfer Get of
	// CIM_AssociatedPowerManagementService fail with an
	// ActionNotSupported fault, like firmware that only enumerates.
	NoGet bool
}

// Server is an emulated AMT device listening on loopback.
type Server struct {
	*httptest.Server
	*BMC
}

// NewServer starts an emulated device on http://127.0.0.1:<port>.
// Close it when done.
func NewServer(opts Options) *Server {
	b := NewBMC(opts)
	return &Server{Server: httptest.NewServer(b), BMC: b}
}

// NewTLSServer starts an emulated device on https with a self-signed
// certificate, as AMT ships; srv.Client() or srv.Certificate() trust it.
func NewTLSServer(opts Options) *Server {
	b := NewBMC(opts)
	return &Server{Server: httptest.NewTLSServer(b), BMC: b}
}

// BMC is the emulated device as an http.Handler, for a test that serves
// it itself.
type BMC struct {
	opts Options

	mu       sync.Mutex
	state    int // CIM power state
	nonces   map[string]*nonce
	order    []string // nonces, oldest first
	enums    map[string]bool
	requests int
	denied   int
	changes  []int
}

type nonce struct {
	uses int
	ncs  map[int]bool
}

// NewBMC returns an emulated device.
func NewBMC(opts Options) *BMC {
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Password == "" {
		opts.Password = DefaultPassword
	}
	if opts.Realm == "" {
		opts.Realm = DefaultRealm
	}
	if opts.QOP == "" {
		opts.QOP = "auth"
	}
	if opts.Version == "" {
		opts.Version = "AMT 11.8"
	}
	if opts.NonceUses <= 0 {
		opts.NonceUses = DefaultNonceUses
	}
	b := &BMC{opts: opts, nonces: map[string]*nonce{}, enums: map[string]bool{}}
	b.state = cimOf(opts.State)
	return b
}

// Username returns the user name the device accepts.
func (b *BMC) Username() string { return b.opts.Username }

// Password returns the password the device accepts.
func (b *BMC) Password() string { return b.opts.Password }

// State returns the emulated machine's power state.
func (b *BMC) State() pxelator.PowerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return stateOf(b.state)
}

// SetState sets the emulated machine's power state, as if someone had
// pressed its power button.
func (b *BMC) SetState(s pxelator.PowerState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state = cimOf(s)
}

// Requests returns the number of HTTP requests received, including those
// answered 401.
func (b *BMC) Requests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.requests
}

// Unauthorized returns the number of requests answered 401.
func (b *BMC) Unauthorized() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.denied
}

// Changes returns the CIM power states of the accepted power changes, in
// order; legacy commands are recorded as their CIM equivalent.
func (b *BMC) Changes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.changes)
}

func cimOf(s pxelator.PowerState) int {
	switch s {
	case pxelator.PowerOff:
		return 8
	case pxelator.PowerSleep:
		return 4
	}
	return 2
}

func stateOf(cim int) pxelator.PowerState {
	switch cim {
	case 2:
		return pxelator.PowerOn
	case 8:
		return pxelator.PowerOff
	case 4, 7:
		return pxelator.PowerSleep
	}
	return pxelator.PowerUnknown
}

// maxBody bounds a request body.
const maxBody = 1 << 20

// ServeHTTP answers one request.
func (b *BMC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.requests++
	b.mu.Unlock()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, "reading request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return
	}
	if r.URL.Path == "/wsman" && b.identify(w, body) {
		return // answered without authentication, as AMT does
	}
	if ok, stale := b.authenticate(r, body); !ok {
		b.challenge(w, stale)
		return
	}
	switch r.URL.Path {
	case "/wsman":
		b.serveWSMan(w, body)
	case "/RemoteControlService", "/SecurityAdministrationService", "/NetworkAdministrationService":
		b.serveLegacy(w, r.URL.Path, body)
	default:
		http.NotFound(w, r)
	}
}

// authenticate checks the Digest credentials of r. stale reports a
// correct response computed with a nonce that has been used up.
func (b *BMC) authenticate(r *http.Request, body []byte) (ok, stale bool) {
	h := r.Header.Get("Authorization")
	if !digest.IsDigest(h) {
		return false, false
	}
	cred, err := digest.ParseCredentials(h)
	if err != nil {
		return false, false
	}
	if cred.Username != b.opts.Username || cred.Realm != b.opts.Realm || cred.URI != r.URL.RequestURI() {
		return false, false
	}
	if a := strings.ToUpper(cred.Algorithm); a != "" && a != "MD5" {
		return false, false
	}
	if !slices.Contains(b.qops(), cred.QOP) || cred.Cnonce == "" {
		return false, false
	}
	bodyHash := ""
	if cred.QOP == "auth-int" {
		bodyHash = md5hex(string(body))
	}
	want := Response(b.opts.Username, b.opts.Realm, b.opts.Password, r.Method, cred.URI, cred.Nonce,
		fmt.Sprintf("%08x", cred.Nc), cred.Cnonce, cred.QOP, bodyHash)
	if cred.Response != want {
		return false, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.nonces[cred.Nonce]
	if n == nil {
		return false, false // never issued or long forgotten
	}
	if n.uses >= b.opts.NonceUses {
		return false, true
	}
	if n.ncs[cred.Nc] {
		return false, false // a replayed nonce count
	}
	n.ncs[cred.Nc] = true
	n.uses++
	return true, false
}

func (b *BMC) qops() []string {
	var q []string
	for _, s := range strings.Split(b.opts.QOP, ",") {
		q = append(q, strings.TrimSpace(s))
	}
	return q
}

// challenge answers 401 with a new nonce, formatted like AMT 11 does it:
// no space after the commas that follow the nonce.
func (b *BMC) challenge(w http.ResponseWriter, stale bool) {
	var raw [18]byte
	rand.Read(raw[:])
	n := base64.StdEncoding.EncodeToString(raw[:])
	b.mu.Lock()
	b.denied++
	b.nonces[n] = &nonce{ncs: map[int]bool{}}
	b.order = append(b.order, n)
	if len(b.order) > 32 {
		delete(b.nonces, b.order[0])
		b.order = b.order[1:]
	}
	b.mu.Unlock()
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Digest realm="%s", nonce="%s",stale="%t",qop="%s"`, b.opts.Realm, n, stale, b.opts.QOP))
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Server", "Intel(R) Active Management Technology (amttest)")
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" >`+
		`<html><head><title>Intel&reg; Active Management Technology</title></head><body>`+
		`<h2 class=warn>Log on failed. Incorrect user name or password, or user account temporarily locked.</h2></body></html>`)
}

// Response computes an RFC 2617 MD5 Digest response. bodyHash is the hex
// MD5 of the body for qop auth-int, else empty.
func Response(user, realm, password, method, uri, nonce, nc, cnonce, qop, bodyHash string) string {
	ha1 := md5hex(user + ":" + realm + ":" + password)
	a2 := method + ":" + uri
	if qop == "auth-int" {
		a2 += ":" + bodyHash
	}
	ha2 := md5hex(a2)
	if qop == "" {
		return md5hex(ha1 + ":" + nonce + ":" + ha2)
	}
	return md5hex(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}
