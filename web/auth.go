package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Names and limits of the login.
const (
	sessionCookie = "pxelator_session"
	loginCookie   = "pxelator_login" // the CSRF token of the login form
	csrfField     = "csrf"
	// sessionLifetime is how long a login lasts.
	sessionLifetime = 12 * time.Hour
	// maxSessions bounds the logins held; the oldest go first.
	maxSessions = 1024
	// maxFormBytes bounds a form or JSON body.
	maxFormBytes = 64 << 10
)

// sessions holds the logins: the SHA-256 of each session cookie and the
// CSRF token of its forms.
type sessions struct {
	mu sync.Mutex
	m  map[[32]byte]session
}

type session struct {
	csrf    string
	expires time.Time
}

func (s *sessions) init() { s.m = make(map[[32]byte]session) }

// add makes a session and returns its cookie value and CSRF token.
func (s *sessions) add(now time.Time) (id, csrf string) {
	id, csrf = randomToken(), randomToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= maxSessions {
		var oldest [32]byte
		first := true
		for k, v := range s.m {
			if v.expires.Before(now) {
				delete(s.m, k)
				continue
			}
			if first || v.expires.Before(s.m[oldest].expires) {
				oldest, first = k, false
			}
		}
		if len(s.m) >= maxSessions {
			delete(s.m, oldest)
		}
	}
	s.m[sha256.Sum256([]byte(id))] = session{csrf: csrf, expires: now.Add(sessionLifetime)}
	return id, csrf
}

// get returns the session of cookie value id.
func (s *sessions) get(id string, now time.Time) (session, bool) {
	if id == "" {
		return session{}, false
	}
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[k]
	if ok && !v.expires.After(now) {
		delete(s.m, k)
		return session{}, false
	}
	return v, ok
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// equal compares two secrets in constant time, whatever their lengths.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// checkToken reports whether t is the login token.
func (h *Handler) checkToken(t string) bool {
	return h.Token != "" && equal(t, h.Token)
}

// session returns the login of r's session cookie.
func (h *Handler) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	return h.sessions.get(c.Value, h.now())
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	a := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(a, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// clientAddr is the address r came from.
func clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// mayRead reports whether r may read without a login: it comes from
// loopback or one of ReadNetworks.
func (h *Handler) mayRead(r *http.Request) bool {
	ip := clientAddr(r)
	if ip.IsLoopback() {
		return true
	}
	for _, p := range h.ReadNetworks {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// loggedIn reports whether r carries the login: a session cookie or the
// bearer token.
func (h *Handler) loggedIn(r *http.Request) bool {
	if _, ok := h.session(r); ok {
		return true
	}
	t, ok := bearerToken(r)
	return ok && h.checkToken(t)
}

func isAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics"
}

// reader lets through requests that may read: from a reading network or
// with the login. Others get 401 (the API) or the login page.
func (h *Handler) reader(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.mayRead(r) || h.loggedIn(r) {
			next(w, r)
			return
		}
		if isAPI(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pxelator"`)
			h.apiError(w, http.StatusUnauthorized, "web: log in: send Authorization: Bearer <token>")
			return
		}
		if r.Method != http.MethodGet {
			h.pageError(w, r, http.StatusUnauthorized, "Log in first.")
			return
		}
		http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	})
}

// form guards a state-changing form: it needs a session and the
// session's CSRF token in the form, and bounds the body.
func (h *Handler) form(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := h.session(r)
		if !ok {
			h.logger().Warn("web: action refused: not logged in", "client", clientAddr(r), "path", r.URL.Path)
			h.pageError(w, r, http.StatusUnauthorized, "Log in to change anything.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			h.pageError(w, r, statusOf(err), "Bad form: "+err.Error())
			return
		}
		if !equal(r.PostForm.Get(csrfField), s.csrf) {
			h.logger().Warn("web: action refused: missing or wrong CSRF token", "client", clientAddr(r), "path", r.URL.Path)
			h.pageError(w, r, http.StatusForbidden, "The form has expired or did not come from this page: reload the page and try again.")
			return
		}
		next(w, r)
	}
}

// bearer guards a state-changing API call: it needs the token as a
// bearer header. Cookies do not count, so that no other site can make a
// browser call the API.
func (h *Handler) bearer(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, ok := bearerToken(r)
		if !ok {
			h.logger().Warn("web: API action refused: no bearer token", "client", clientAddr(r), "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="pxelator"`)
			h.apiError(w, http.StatusUnauthorized, "web: this call changes state: send Authorization: Bearer <token>")
			return
		}
		if !h.checkToken(t) {
			h.logger().Warn("web: API action refused: wrong token", "client", clientAddr(r), "path", r.URL.Path)
			w.Header().Set("WWW-Authenticate", `Bearer realm="pxelator", error="invalid_token"`)
			h.apiError(w, http.StatusForbidden, "web: wrong token")
			return
		}
		next(w, r)
	}
}

// loginPage shows the login form with a fresh CSRF cookie.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	csrf := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: csrf, Path: "/login", MaxAge: 3600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	h.render(w, r, http.StatusOK, "login.html", loginData{
		page: h.page(r, "Log in"), Next: safeNext(r.URL.Query().Get("next")), LoginCSRF: csrf,
		NoToken: h.Token == "",
	})
}

type loginData struct {
	page
	Next      string
	LoginCSRF string
	NoToken   bool
	Failed    bool
}

// login checks the token and starts a session.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.pageError(w, r, statusOf(err), "Bad form: "+err.Error())
		return
	}
	c, err := r.Cookie(loginCookie)
	if err != nil || !equal(r.PostForm.Get(csrfField), c.Value) {
		h.pageError(w, r, http.StatusForbidden, "The login form has expired: open /login again.")
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	if !h.checkToken(r.PostForm.Get("token")) {
		h.logger().Warn("web: login failed", "client", clientAddr(r))
		csrf := randomToken()
		http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: csrf, Path: "/login", MaxAge: 3600,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		h.render(w, r, http.StatusForbidden, "login.html", loginData{
			page: h.page(r, "Log in"), Next: next, LoginCSRF: csrf, NoToken: h.Token == "", Failed: true,
		})
		return
	}
	id, _ := h.sessions.add(h.now())
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", MaxAge: int(sessionLifetime / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	h.logger().Info("web: logged in", "client", clientAddr(r))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		h.sessions.remove(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// safeNext returns next when it is a path on this server, else "/".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	return next
}
