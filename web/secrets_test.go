package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// TestSecretsNeverShown: the secret attributes of the machines (a BMC
// password), and the login token, appear in no page, API answer, log
// line or audit event, even after power actions through the BMC that
// needs the password, and even when an audit event holds a secret by
// mistake.
func TestSecretsNeverShown(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A leak elsewhere: a syslog line with the password in it.
	e.batcher.Record(ctx, audit.Event{Time: time.Now(), Package: "syslogd", Action: "log", IP: kioskIP, MAC: kioskMAC,
		Fields: map[string]any{"msg": "login with password " + bmcSecret + " failed", "nested": map[string]any{"list": []any{bmcSecret2}}}})
	e.flush()

	c := e.client()
	csrf := e.login(c)
	tok := bearer(testToken)
	var answers []string
	add := func(status int, body string) {
		t.Helper()
		if status >= 500 {
			t.Errorf("status %d: %s", status, body)
		}
		answers = append(answers, body)
	}
	add(e.do(c, "POST", "/api/machines/"+kioskMAC.String()+"/power", "application/json", strings.NewReader(`{"action":"on"}`), tok))
	add(e.do(c, "POST", "/machines/"+kioskMAC.String()+"/power", "application/x-www-form-urlencoded", strings.NewReader("action=cycle&csrf="+csrf), nil))
	add(e.do(c, "PATCH", "/api/machines/"+wsMAC.String(), "application/json", strings.NewReader(`{"profile":"rescue"}`), tok))
	e.flush()
	for _, p := range []string{
		"/", "/?q=amt", "/?q=" + bmcSecret[:8],
		"/machines/" + kioskMAC.String(), "/machines/" + kioskMAC.String() + "?read=power", "/machines/" + wsMAC.String(),
		"/audit", "/audit?since=24h&package=syslogd", "/audit?mode=count&by=package", "/audit?package=amt",
		"/api/summary", "/api/machines", "/api/machines/" + kioskMAC.String(), "/api/machines/" + wsMAC.String(),
		"/api/machines/" + kioskMAC.String() + "/events", "/api/machines/" + kioskMAC.String() + "/boot",
		"/api/machines/" + kioskMAC.String() + "/power", "/api/audit/events?package=syslogd", "/api/audit/events",
		"/api/audit/count?by=msg", "/login",
	} {
		add(e.do(c, "GET", p, "", nil, nil))
	}
	if !strings.Contains(strings.Join(answers, ""), "login with password [secret] failed") {
		t.Error("the leaked syslog line is not shown redacted")
	}
	// What the audit holds: the handler's own events and every document.
	var stored []string
	for _, ev := range e.web.Events() {
		b, _ := json.Marshal(ev.Fields)
		stored = append(stored, ev.Action+" "+string(b))
	}
	for q := (audit.EventsQuery{Limit: 10000}); ; {
		p, err := e.audit.Events(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Documents {
			if strings.Contains(d.ID, "syslogd") {
				continue // the leak of the test itself
			}
			b, _ := json.Marshal(d)
			stored = append(stored, string(b))
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	for _, secret := range []string{bmcSecret, bmcSecret2, testToken} {
		for i, a := range answers {
			if strings.Contains(a, secret) {
				t.Errorf("answer %d holds %q:\n%.2000s", i, secret, a)
			}
		}
		for _, s := range stored {
			if strings.Contains(s, secret) {
				t.Errorf("the audit holds %q: %.500s", secret, s)
			}
		}
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, e.logs.String())
		}
	}
	if !strings.Contains(e.logs.String(), "web: power action") || len(e.web.Find("web", "power")) != 2 {
		t.Errorf("the actions were not logged and recorded:\n%s", e.logs.String())
	}
	if got := e.get(c, "/api/machines/"+kioskMAC.String(), http.StatusOK); !strings.Contains(got, `"secrets":["amt.password"]`) {
		t.Errorf("the API does not say that the password is set: %s", got)
	}
}
