package web_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/web"
)

// TestReadRoutes: every reading route answers, with what the test segment
// holds.
func TestReadRoutes(t *testing.T) {
	e := newEnv(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(e.h)
	e.h.Metrics = reg
	// Metrics is read when the handler first serves: start another.
	srv := httptest.NewServer(&web.Handler{Store: e.store, Audit: e.audit, Power: e.h.Power, Monitor: e.h.Monitor,
		Schedule: e.h.Schedule, Token: testToken, Metrics: reg, Logger: e.h.Logger})
	defer srv.Close()
	e.srv = srv
	kiosk := "/machines/" + kioskMAC.String()
	api := "/api/machines/" + kioskMAC.String()
	tests := []struct {
		path string
		want []string // substrings of the body
		not  []string
	}{
		{"/", []string{"kiosk-01", "ws-02", "52:54:00:00:0a:03", "<b>3</b> machines", "<b>1</b> up", "<b>1</b> down", "<b>1</b> new today", "booted", "boot file", "off", "off as planned"}, nil},
		{"/?q=kiosk", []string{"kiosk-01"}, []string{"ws-02"}},
		{"/?q=group%3Dlab", []string{"kiosk-01"}, []string{"ws-02"}},
		{"/?q=nothing-matches", []string{"No machines"}, []string{"kiosk-01"}},
		{"/?sort=-hostname", []string{"ws-02"}, nil},
		{"/?sort=status&per=1", []string{"ws-02", "next →"}, []string{"kiosk-01"}},
		{"/?sort=rtt&page=2&per=1", []string{"ws-02", "← previous"}, nil},
		{kiosk, []string{"kiosk-01", "<svg", "Ping round-trip times", "DHCP exchanges", "amt.password", ">set<", "Linux version 6.1.0-56-amd64", "initrd.gz"}, nil},
		{"/machines/52-54-00-00-0a-01", []string{"kiosk-01"}, nil},
		{kiosk + "?range=7d", []string{"<b>7d</b>"}, nil},
		{kiosk + "?read=power", []string{"bmc,"}, nil},
		{"/audit", []string{"Audit", "dhcpd"}, nil},
		{"/audit?mode=count&package=amt&by=ip,state", []string{"127.0.0.1", "off", "<svg"}, nil},
		{"/audit?mode=avg&package=ping&field=rtt&by=ip", []string{"10.77.0.101", "average rtt"}, nil},
		{"/audit?package=tftpd&where=outcome%3Dfailed", []string{"10.77.0.102"}, []string{"10.77.0.101"}},
		{"/login", []string{`name="token"`}, nil},
		{"/static/style.css", []string{"--accent"}, nil},
		{"/static/refresh.js", []string{"data-refresh"}, nil},
		{"/api/summary", []string{`"machines":3`, `"up":1`, `"down":1`, `"new_today":1`}, nil},
		{"/api/machines", []string{`"total":3`, `"hostname":"kiosk-01"`, `"secrets":["amt.password"]`}, nil},
		{"/api/machines?q=ws&sort=-mac&per=5", []string{`"total":1`, `"netboot":false`}, nil},
		{api, []string{`"hostname":"kiosk-01"`, `"reached":"syslog"`, `"state":"off"`, `"last_seen"`, `"schedule"`}, nil},
		{api + "/events", []string{`"documents"`, `"package":"syslogd"`, `"package":"tftpd"`}, nil},
		{api + "/events?package=ping&limit=5", []string{`"next"`}, []string{`"dhcpd"`}},
		{api + "/boot", []string{`"done":true`, `"vmlinuz (HTTP)"`}, nil},
		{"/api/machines/" + wsMAC.String() + "/boot", []string{`"done":false`, `"failed":true`, `undionly.kpxe (TFTP): failed`}, nil},
		{api + "/power", []string{`"state":"off"`, `"source":"bmc"`}, nil},
		{"/api/audit/events?package=dhcpd&since=24h", []string{`"documents"`, `"offer"`}, nil},
		{"/api/audit/count?by=package", []string{`"key":["dhcpd"]`}, nil},
		{"/api/audit/stats?field=rtt&by=ip&package=ping", []string{`"key":["10.77.0.101"]`, `"avg"`}, nil},
		{"/metrics", []string{"pxelator_machines 3", "pxelator_machines_up 1", "pxelator_machines_down 1", `pxelator_web_power_actions_total{action="on",result="ok"} 0`}, nil},
	}
	c := e.client()
	for _, tt := range tests {
		body := e.get(c, tt.path, http.StatusOK)
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in the answer:\n%.3000s", tt.path, w, body)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(body, w) {
				t.Errorf("GET %s: %q in the answer", tt.path, w)
			}
		}
		if strings.HasPrefix(tt.path, "/api/") && !json.Valid([]byte(body)) {
			t.Errorf("GET %s: not JSON: %.200s", tt.path, body)
		}
	}
}

// TestBadInput: bad MACs, parameters, methods and bodies get a clear 4xx,
// and nothing reaches the BMC or the store.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	kiosk := "/machines/" + kioskMAC.String()
	api := "/api/machines/" + kioskMAC.String()
	unknown := "52:54:00:00:ff:ff"
	tok := bearer(testToken)
	js := "application/json"
	c := e.client()
	csrf := e.login(c)
	tests := []struct {
		method, path, ctype, body string
		hdr                       http.Header
		status                    int
	}{
		{"GET", "/machines/zz", "", "", nil, 400},
		{"GET", "/machines/" + unknown, "", "", nil, 404},
		{"GET", "/machines/" + kioskMAC.String() + "?cursor=garbage", "", "", nil, 400},
		{"GET", "/api/machines/zz", "", "", nil, 400},
		{"GET", "/api/machines/" + unknown, "", "", nil, 404},
		{"GET", "/api/machines/" + unknown + "/events", "", "", nil, 404},
		{"GET", "/api/machines/" + unknown + "/boot", "", "", nil, 404},
		{"GET", "/api/machines/" + unknown + "/power", "", "", nil, 404},
		{"GET", "/api/machines/52:54:00:00:0a:03/boot", "", "", nil, 404}, // no DHCP request recorded
		{"GET", "/?sort=nope", "", "", nil, 400},
		{"GET", "/?page=0", "", "", nil, 400},
		{"GET", "/?per=5000", "", "", nil, 400},
		{"GET", "/?q=" + strings.Repeat("x", 300), "", "", nil, 400},
		{"GET", "/api/machines?sort=bogus", "", "", nil, 400},
		{"GET", "/api/machines?page=abc", "", "", nil, 400},
		{"GET", "/api/audit/count", "", "", nil, 400},
		{"GET", "/api/audit/count?by=a,b,c", "", "", nil, 400},
		{"GET", "/api/audit/count?by=bad$name", "", "", nil, 400},
		{"GET", "/api/audit/stats?by=ip&field=ip", "", "", nil, 400},
		{"GET", "/api/audit/stats?by=ip", "", "", nil, 400},
		{"GET", "/api/audit/events?since=yesterday", "", "", nil, 400},
		{"GET", "/api/audit/events?since=1h&until=2h", "", "", nil, 400},
		{"GET", "/api/audit/events?cursor=garbage", "", "", nil, 400},
		{"GET", "/api/audit/events?limit=0", "", "", nil, 400},
		{"GET", "/api/audit/events?where=novalue", "", "", nil, 400},
		{"GET", "/api/audit/events?where=" + url.QueryEscape("a$=1"), "", "", nil, 400},
		{"GET", api + "/events?machine=10.0.0.1", "", "", nil, 400},
		{"GET", "/audit?since=bad", "", "", nil, 400},
		{"GET", "/audit?mode=nope", "", "", nil, 400},
		{"GET", "/nope", "", "", nil, 404},
		{"GET", "/static/nope.css", "", "", nil, 404},
		{"DELETE", api, "", "", tok, 405},
		{"PUT", api + "/power", js, `{"action":"on"}`, tok, 405},
		{"GET", kiosk + "/power", "", "", nil, 405},
		{"POST", "/", "", "", nil, 405},
		{"POST", "/api/summary", "", "", tok, 405},
		// The power API.
		{"POST", api + "/power", js, `{"action":"on"}`, nil, 401},
		{"POST", api + "/power", js, `{"action":"on"}`, bearer("wrong"), 403},
		{"POST", api + "/power", js, `{"action":"on"}`, http.Header{"Authorization": {"Basic " + testToken}}, 401},
		{"POST", api + "/power", js, `{"action":"explode"}`, tok, 400},
		{"POST", api + "/power", js, `{"action":""}`, tok, 400},
		{"POST", api + "/power", js, `{"action":"on","extra":1}`, tok, 400},
		{"POST", api + "/power", js, `{"action":"on"}{"action":"off"}`, tok, 400},
		{"POST", api + "/power", js, `{"action":`, tok, 400},
		{"POST", api + "/power", js, ``, tok, 400},
		{"POST", api + "/power", js, `["on"]`, tok, 400},
		{"POST", api + "/power", "text/plain", `{"action":"on"}`, tok, 415},
		{"POST", api + "/power", js, `{"action":"on","pad":"` + strings.Repeat("x", 70<<10) + `"}`, tok, 413},
		{"POST", "/api/machines/" + unknown + "/power", js, `{"action":"on"}`, tok, 404},
		{"POST", "/api/machines/zz/power", js, `{"action":"on"}`, tok, 400},
		// Changes through the API.
		{"PATCH", api, js, `{"hostname":"ws-02"}`, tok, 409},
		{"PATCH", api, js, `{"hostname":"bad name!"}`, tok, 400},
		{"PATCH", api, js, `{"profile":"../etc"}`, tok, 400},
		{"PATCH", api, js, `{"profile":"unknown-profile"}`, tok, 400},
		{"PATCH", api, js, `{"profile_once":"a b"}`, tok, 400},
		{"PATCH", api, js, `{}`, tok, 400},
		{"PATCH", api, js, `{"netboot":"yes"}`, tok, 400},
		{"PATCH", api, js, `{"hostname":"x"}`, nil, 401},
		// Forms.
		{"POST", kiosk + "/power", "application/x-www-form-urlencoded", "action=on&csrf=" + csrf, nil, 401}, // a cookie-less client
		{"POST", kiosk + "/power", "application/x-www-form-urlencoded", "action=explode", nil, 403},
		{"POST", kiosk + "/power", "application/x-www-form-urlencoded", "action=on&csrf=wrong", nil, 403},
		{"POST", kiosk + "/power", "application/x-www-form-urlencoded", "action=explode&csrf=" + csrf, nil, 400},
		{"POST", kiosk + "/power", "application/x-www-form-urlencoded", "action=on&csrf=" + csrf + "&pad=" + strings.Repeat("x", 70<<10), nil, 413},
		{"POST", kiosk + "/netboot", "application/x-www-form-urlencoded", "netboot=maybe&csrf=" + csrf, nil, 400},
		{"POST", kiosk + "/netboot", "application/x-www-form-urlencoded", "netboot=off", nil, 403},
		{"POST", kiosk + "/profile", "application/x-www-form-urlencoded", "profile=a/b&csrf=" + csrf, nil, 400},
		{"POST", kiosk + "/hostname", "application/x-www-form-urlencoded", "hostname=-bad-&csrf=" + csrf, nil, 400},
		{"POST", kiosk + "/hostname", "application/x-www-form-urlencoded", "hostname=ws-02&csrf=" + csrf, nil, 409},
		{"POST", "/machines/" + unknown + "/hostname", "application/x-www-form-urlencoded", "hostname=x&csrf=" + csrf, nil, 404},
		{"POST", "/machines/zz/hostname", "application/x-www-form-urlencoded", "hostname=x&csrf=" + csrf, nil, 400},
		{"POST", "/logout", "application/x-www-form-urlencoded", "", nil, 403},
		{"POST", "/login", "application/x-www-form-urlencoded", "token=" + testToken, nil, 403}, // no login CSRF
	}
	before := e.machines()
	requests := e.bmc.Requests()
	anon := e.client()
	for _, tt := range tests {
		client := c
		if tt.status == 401 && tt.hdr == nil && strings.HasPrefix(tt.path, "/machines/") {
			client = anon
		}
		status, body := e.do(client, tt.method, tt.path, tt.ctype, strings.NewReader(tt.body), tt.hdr)
		if status != tt.status {
			t.Errorf("%s %s %.80s: %d, want %d: %.300s", tt.method, tt.path, tt.body, status, tt.status, body)
		}
		if strings.HasPrefix(tt.path, "/api/") && status != http.StatusMethodNotAllowed {
			var v struct{ Error string }
			if err := json.Unmarshal([]byte(body), &v); err != nil || v.Error == "" {
				t.Errorf("%s %s: answer is not a JSON error: %.200s", tt.method, tt.path, body)
			}
		}
	}
	if got := e.machines(); got != before {
		t.Errorf("the store changed:\n%s\nwant\n%s", got, before)
	}
	if got := e.bmc.Requests(); got != requests {
		t.Errorf("the BMC got %d requests", got-requests)
	}
	if ev := e.web.Events(); len(ev) != 0 {
		t.Errorf("refused actions were recorded as done: %v", ev)
	}
}

// TestActions: with the login, the API and the forms change the store
// and power the emulated BMC, and each action is recorded.
func TestActions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	api := "/api/machines/" + kioskMAC.String()
	tok := bearer(testToken)
	c := e.client()

	status, body := e.do(c, "POST", api+"/power", "application/json", strings.NewReader(`{"action":"on"}`), tok)
	if status != 200 || e.bmc.State() != pxelator.PowerOn {
		t.Fatalf("power on through the API: %d %s; BMC %s", status, body, e.bmc.State())
	}
	status, body = e.do(c, "PATCH", api, "application/json", strings.NewReader(`{"hostname":"kiosk-1b","profile":"rescue","netboot":false}`), tok)
	m, err := e.store.ByMAC(ctx, kioskMAC)
	if err != nil || status != 200 || m.Hostname != "kiosk-1b" || m.Profile != "rescue" || m.Get(pxelator.AttrNetboot) != "false" {
		t.Fatalf("PATCH: %d %s; store: %v %v", status, body, m, err)
	}
	if strings.Contains(body, bmcSecret) || !strings.Contains(body, `"secrets":["amt.password"]`) {
		t.Errorf("PATCH answer: %s", body)
	}

	csrf := e.login(c)
	form := func(path string, v url.Values) {
		t.Helper()
		v.Set("csrf", csrf)
		status, body := e.do(c, "POST", "/machines/"+kioskMAC.String()+path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()), nil)
		if status != http.StatusSeeOther {
			t.Fatalf("form %s %v: %d %s", path, v, status, body)
		}
	}
	form("/power", url.Values{"action": {"off"}})
	if e.bmc.State() != pxelator.PowerOff {
		t.Errorf("after the off button: BMC %s", e.bmc.State())
	}
	form("/netboot", url.Values{"netboot": {"on"}})
	form("/profile", url.Values{"profile": {"local"}, "once": {"1"}})
	form("/hostname", url.Values{"hostname": {"kiosk-01"}})
	m, _ = e.store.ByMAC(ctx, kioskMAC)
	if m.Get(pxelator.AttrNetboot) != "" || m.Get(boot.AttrOnceProfile) != "local" || m.Profile != boot.ProfileOnce || m.Hostname != "kiosk-01" {
		t.Errorf("after the forms: %v", m)
	}
	page := e.get(c, "/machines/"+kioskMAC.String()+"?done=changed", 200)
	for _, w := range []string{"Saved.", "once: local, then the local disk", "Log out"} {
		if !strings.Contains(page, w) {
			t.Errorf("machine page after the forms: no %q", w)
		}
	}
	var actions []string
	for _, ev := range e.web.Find("web", "") {
		actions = append(actions, ev.Action+":"+strings.Join(slices.Sorted(maps.Keys(ev.Fields)), ","))
	}
	want := []string{
		"power:action,client", "change:client,hostname,netboot,profile", "power:action,client",
		"change:client,netboot", "change:client,profile_once", "change:client,hostname",
	}
	if !slices.Equal(actions, want) {
		t.Errorf("recorded actions:\n%q\nwant\n%q", actions, want)
	}
	metrics := prometheus.NewRegistry()
	metrics.MustRegister(e.h)
	mfs, err := metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "pxelator_web_power_actions_total" {
			continue
		}
		n := 0.0
		for _, m := range mf.Metric {
			n += m.GetCounter().GetValue()
		}
		if n != 2 {
			t.Errorf("power actions counted: %v, want 2", n)
		}
	}
}

// TestReadAccess: loopback and listed networks read without a login;
// others are sent to the login, and read once logged in.
func TestReadAccess(t *testing.T) {
	e := newEnv(t)
	h := &web.Handler{Store: e.store, Token: testToken, ReadNetworks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}
	serve := func(remote, path string, hdr http.Header) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = remote
		for k, v := range hdr {
			r.Header[k] = v
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	tests := []struct {
		remote, path string
		hdr          http.Header
		status       int
	}{
		{"127.0.0.1:4000", "/", nil, 200},
		{"[::1]:4000", "/api/machines", nil, 200},
		{"192.0.2.7:4000", "/", nil, 200},
		{"198.51.100.7:4000", "/", nil, 303},
		{"198.51.100.7:4000", "/api/machines", nil, 401},
		{"198.51.100.7:4000", "/api/machines", bearer("wrong"), 401},
		{"198.51.100.7:4000", "/api/machines", bearer(testToken), 200},
		{"198.51.100.7:4000", "/login", nil, 200},
		{"198.51.100.7:4000", "/static/style.css", nil, 200},
		{"garbage", "/", nil, 303},
	}
	for _, tt := range tests {
		w := serve(tt.remote, tt.path, tt.hdr)
		if w.Code != tt.status {
			t.Errorf("GET %s from %s: %d, want %d", tt.path, tt.remote, w.Code, tt.status)
		}
		if tt.status == 303 && !strings.HasPrefix(w.Header().Get("Location"), "/login?next=") {
			t.Errorf("GET %s from %s: redirected to %q", tt.path, tt.remote, w.Header().Get("Location"))
		}
	}
	// A login from outside reads the pages.
	w := serve("198.51.100.7:4000", "/login", nil)
	var loginCSRF string
	for _, c := range w.Result().Cookies() {
		if c.Name == "pxelator_login" {
			loginCSRF = c.Value
		}
	}
	r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"csrf": {loginCSRF}, "token": {testToken}, "next": {"//evil.example/"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = "198.51.100.7:4000"
	r.AddCookie(&http.Cookie{Name: "pxelator_login", Value: loginCSRF})
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to / (never another site)", w.Code, w.Header().Get("Location"))
	}
	var session *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "pxelator_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", session)
	}
	if got := w.Header().Get("Set-Cookie"); !strings.Contains(strings.Join(w.Header().Values("Set-Cookie"), "\n"), "HttpOnly; SameSite=Strict") {
		t.Errorf("Set-Cookie %q", got)
	}
	if w := serve("198.51.100.7:4000", "/", http.Header{"Cookie": {session.String()}}); w.Code != 200 {
		t.Errorf("logged in from outside: %d", w.Code)
	}
}

// TestOptionalParts: a handler with only a store serves every page, and
// says what it lacks.
func TestOptionalParts(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(&web.Handler{Store: e.store})
	defer srv.Close()
	e.srv = srv
	c := e.client()
	page := e.get(c, "/", 200)
	for _, not := range []string{"last seen", "up/down", "kiosk schedule", "Log in"} {
		if strings.Contains(page, not) {
			t.Errorf("overview without audit, monitor, schedule and token shows %q", not)
		}
	}
	page = e.get(c, "/machines/"+kioskMAC.String(), 200)
	if !strings.Contains(page, "No login is configured") || strings.Contains(page, "power-on") {
		t.Errorf("machine page without power and token:\n%s", page)
	}
	e.get(c, "/audit", 200)
	for _, p := range []string{"/events", "/boot"} {
		if status, _ := e.do(c, "GET", "/api/machines/"+kioskMAC.String()+p, "", nil, nil); status != 501 {
			t.Errorf("%s without audit: %d, want 501", p, status)
		}
	}
	if status, _ := e.do(c, "GET", "/api/machines/"+kioskMAC.String()+"/power", "", nil, nil); status != 501 {
		t.Errorf("power without backend: %d, want 501", status)
	}
	if status, _ := e.do(c, "POST", "/api/machines/"+kioskMAC.String()+"/power", "application/json", strings.NewReader(`{"action":"on"}`), bearer("x")); status != 403 {
		t.Errorf("power API without a token configured: %d, want 403", status)
	}
	if status, _ := e.do(c, "GET", "/metrics", "", nil, nil); status != 404 {
		t.Errorf("/metrics without Metrics: %d, want 404", status)
	}
}
