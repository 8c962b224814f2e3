package drac_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/drac/dractest"
)

// The tests in this file put the clients in front of BMCs that misbehave
// in ways no emulator of a working card would: they are handlers written
// for the purpose.

// hijack takes over the connection and writes raw, then closes it.
func hijack(w http.ResponseWriter, raw string) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	buf.WriteString(raw)
	buf.Flush()
	conn.Close()
}

// clients returns one call of each client against the server at url.
func clients(t testing.TB, url string) map[string]func(ctx context.Context) error {
	rf := must[*drac.Redfish](t)(drac.NewRedfish(url, drac.Config{Username: user, Password: password, SystemID: dractest.SystemID, BasicAuth: true}))
	lg := must[*drac.Legacy](t)(drac.NewLegacy(url, drac.Config{Username: user, Password: password}))
	return map[string]func(ctx context.Context) error{
		"redfish": func(ctx context.Context) error { _, err := rf.PowerState(ctx); return err },
		"racadm":  func(ctx context.Context) error { _, err := lg.PowerState(ctx); return err },
		"web":     func(ctx context.Context) error { return lg.Login(ctx) },
		"vkvm":    func(ctx context.Context) error { _, err := lg.VirtualConsole(ctx); return err },
	}
}

func TestBadBMC(t *testing.T) {
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request, stop <-chan struct{})
		hangs   bool   // the call ends only by its context's deadline
		wantErr error  // errors.Is target, or nil for "some error"
		want    string // a substring of the error
	}{
		{
			name: "hangs",
			handler: func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
				select {
				case <-r.Context().Done():
				case <-stop:
				}
			},
			hangs:   true,
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "hangs after the headers",
			handler: func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(http.StatusOK)
				http.NewResponseController(w).Flush()
				select {
				case <-r.Context().Done():
				case <-stop:
				}
			},
			hangs:   true,
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "answers HTML",
			handler: func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<!DOCTYPE html><html><head><title>Login</title></head><body>Please log in</body></html>")
			},
			wantErr: drac.ErrProtocol,
			want:    "HTML",
		},
		{
			name: "closes the connection",
			handler: func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
				hijack(w, "")
			},
			want: "EOF",
		},
		{
			name: "sends less than its Content-Length",
			handler: func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
				hijack(w, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<LOGIN><RESP><RC>0x0")
			},
			wantErr: drac.ErrProtocol,
			want:    "unexpected EOF",
		},
		{
			name: "sends more than its Content-Length",
			handler: func(w http.ResponseWriter, r *http.Request, stop <-chan struct{}) {
				hijack(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 9\r\n\r\n"+
					`{"Id":"System.Embedded.1","PowerState":"On"}`+
					`<LOGIN><RESP><RC>0x0</RC><SID>1</SID></RESP></LOGIN>`)
			},
			wantErr: drac.ErrProtocol,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The server does not notice a client that gave up while it
			// has not read the request body: stop releases the handlers.
			stop := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tt.handler(w, r, stop)
			}))
			defer srv.Close()
			defer close(stop)
			for name, call := range clients(t, srv.URL) {
				timeout := 30 * time.Second
				if tt.hangs {
					timeout = 300 * time.Millisecond
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				start := time.Now()
				err := call(ctx)
				cancel()
				if err == nil {
					t.Errorf("%s: no error", name)
					continue
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("%s: %v, want %v", name, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "drac: ") {
					t.Errorf("%s: %q, want drac: ...%s...", name, err, tt.want)
				}
				if d := time.Since(start); d > 20*time.Second {
					t.Errorf("%s: took %v", name, d)
				}
			}
		})
	}
}

// TestAuthAgainAfterLogin: a BMC that accepts every login and then
// refuses every request. Each client logs in once more and gives up.
func TestAuthAgainAfterLogin(t *testing.T) {
	var logins, requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redfish/v1/SessionService/Sessions":
			logins.Add(1)
			w.Header().Set("X-Auth-Token", fmt.Sprint("token-", logins.Load()))
			w.Header().Set("Location", "/redfish/v1/SessionService/Sessions/1")
			w.WriteHeader(http.StatusCreated)
		case "/cgi-bin/login":
			logins.Add(1)
			io.WriteString(w, `<LOGIN><RESP><RC>0x0</RC><SID>77</SID><STATENAME>OK</STATENAME></RESP></LOGIN>`)
		case "/cgi-bin/webcgi/login":
			logins.Add(1)
			io.WriteString(w, `<drac><LOGIN><RESP><RC>0x3000</RC><SID>0</SID></RESP></LOGIN></drac>`)
		case "/cgi-bin/exec":
			requests.Add(1)
			io.WriteString(w, `<EXEC><RESP><RC>0x140004</RC></RESP></EXEC>`)
		case "/cgi-bin/webcgi/vkvm":
			requests.Add(1)
			http.Redirect(w, r, "/login.html", http.StatusFound)
		default:
			requests.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	rf := must[*drac.Redfish](t)(drac.NewRedfish(srv.URL, drac.Config{Username: user, Password: password, SystemID: dractest.SystemID}))
	lg := must[*drac.Legacy](t)(drac.NewLegacy(srv.URL, drac.Config{Username: user, Password: password}))
	calls := map[string]func(ctx context.Context) error{
		"redfish": func(ctx context.Context) error { _, err := rf.PowerState(ctx); return err },
		"racadm":  func(ctx context.Context) error { _, err := lg.PowerState(ctx); return err },
		"vkvm":    func(ctx context.Context) error { _, err := lg.VirtualConsole(ctx); return err },
	}
	for name, call := range calls {
		logins.Store(0)
		requests.Store(0)
		err := call(testContext(t))
		if !errors.Is(err, drac.ErrUnauthorized) {
			t.Errorf("%s: %v, want ErrUnauthorized", name, err)
		}
		if l, r := logins.Load(), requests.Load(); l != 2 || r != 2 {
			t.Errorf("%s: %d logins and %d requests, want 2 and 2", name, l, r)
		}
	}
}

// TestRecordedExchanges serves the captured iDRAC answers to the
// clients, and replays the captured request to the emulator.
func TestRecordedExchanges(t *testing.T) {
	vector := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var resetBody []byte
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/redfish/v1/Systems/System.Embedded.1":
			w.Header().Set("Content-Type", "application/json")
			w.Write(vector("redfish-system-embedded-1.json"))
		case "/redfish/v1/Systems/System.Embedded.1/Actions/ComputerSystem.Reset":
			resetBody, _ = io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			w.Write(vector("redfish-reset-409-already-on.json"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := testContext(t)
	rf := must[*drac.Redfish](t)(drac.NewRedfish(srv.URL, drac.Config{Username: user, Password: password, SystemID: dractest.SystemID,
		BasicAuth: true, HTTPClient: srv.Client()}))
	if st, err := rf.PowerState(ctx); err != nil || st != pxelator.PowerOn {
		t.Fatalf("PowerState: %s, %v", st, err)
	}
	if err := rf.On(ctx); err != nil {
		t.Fatalf("On against 409 already on: %v", err)
	}
	if string(resetBody) != `{"ResetType":"On"}` {
		t.Errorf("reset body %s", resetBody)
	}
	err := rf.Cycle(ctx)
	var e *drac.Error
	if !errors.As(err, &e) || e.Message != "Server is already powered ON." {
		t.Errorf("Cycle against 409: %v", err)
	}

	// The captured legacy login answers.
	for _, name := range []string{"drac5-login-ok.response.xml", "idrac8-data-login-ok.response.xml"} {
		body := vector(name)
		ls := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/xml")
			w.Write(body)
		}))
		lg := must[*drac.Legacy](t)(drac.NewLegacy(ls.URL, drac.Config{Username: user, Password: password}))
		if err := lg.Login(ctx); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		ls.Close()
	}

	// The captured request, replayed to the emulator.
	raw := vector("redfish-reset.request.http")
	head, body, _ := bytes.Cut(raw, []byte("\n\n"))
	var lines []string
	for _, l := range strings.Split(string(head), "\n") {
		if k, v, ok := strings.Cut(l, ": "); ok && k == "Authorization" {
			l = k + ": " + strings.Join(strings.Fields(v)[:2], " ") // drop the "(or X-Auth-Token ...)" note
		}
		lines = append(lines, l)
	}
	body = bytes.TrimSpace(body)
	lines = append(lines, fmt.Sprintf("Content-Length: %d", len(body)), "Host: idrac", "", "")
	req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(strings.NewReader(strings.Join(lines, "\r\n")), bytes.NewReader(body))))
	if err != nil {
		t.Fatal(err)
	}
	bmc := dractest.New(user, password)
	w := httptest.NewRecorder()
	bmc.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent || bmc.Power() != pxelator.PowerOff {
		t.Fatalf("replayed ForceOff: HTTP %d, power %s", w.Code, bmc.Power())
	}
}
