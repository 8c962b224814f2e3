package drac_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/drac/dractest"
)

const (
	user     = "root"
	password = "calvin"
)

// power is the vocabulary every power client of the module offers; the
// reference server defines the same interface where it uses it.
type power interface {
	On(ctx context.Context) error
	Off(ctx context.Context) error
	SoftOff(ctx context.Context) error
	Cycle(ctx context.Context) error
	Reset(ctx context.Context) error
	PowerState(ctx context.Context) (pxelator.PowerState, error)
	Close(ctx context.Context) error
}

var (
	_ power = (*drac.Redfish)(nil)
	_ power = (*drac.Legacy)(nil)
)

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startBMC starts an emulated iDRAC over TLS.
func startBMC(t testing.TB) (*dractest.BMC, *httptest.Server) {
	t.Helper()
	bmc := dractest.New(user, password)
	srv := dractest.NewTLSServer(bmc)
	t.Cleanup(srv.Close)
	return bmc, srv
}

// newRedfish returns a Redfish client of the emulator srv. Empty
// credentials and HTTPClient in cfg are those of the emulator.
func newRedfish(t testing.TB, srv *httptest.Server, cfg drac.Config) *drac.Redfish {
	t.Helper()
	return must[*drac.Redfish](t)(drac.NewRedfish(srv.URL, emulatorConfig(srv, cfg)))
}

// emulatorConfig fills in the credentials and HTTPClient of the emulator
// srv where cfg has none.
func emulatorConfig(srv *httptest.Server, cfg drac.Config) drac.Config {
	if cfg.Username == "" {
		cfg.Username = user
	}
	if cfg.Password == "" {
		cfg.Password = password
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = srv.Client()
	}
	return cfg
}

// must returns a function that returns c, failing t on err.
func must[C any](t testing.TB) func(c C, err error) C {
	return func(c C, err error) C {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func TestRedfishPowerActions(t *testing.T) {
	type step struct {
		call    string
		want    pxelator.PowerState // state after the call
		wantErr error
	}
	tests := []struct {
		name   string
		start  pxelator.PowerState
		basic  bool
		steps  []step
		action []string // actions the BMC carried out
	}{
		{
			name:  "off on on",
			start: pxelator.PowerOn,
			steps: []step{
				{"Off", pxelator.PowerOff, nil},
				{"On", pxelator.PowerOn, nil},
				{"On", pxelator.PowerOn, nil}, // 409 already on: success
			},
			action: []string{"ForceOff", "On"},
		},
		{
			name:  "soft off twice",
			start: pxelator.PowerOn,
			basic: true,
			steps: []step{
				{"SoftOff", pxelator.PowerOff, nil},
				{"SoftOff", pxelator.PowerOff, nil}, // 409 already off: success
				{"Off", pxelator.PowerOff, nil},
			},
			action: []string{"GracefulShutdown"},
		},
		{
			name:  "cycle and reset when on",
			start: pxelator.PowerOn,
			steps: []step{
				{"Cycle", pxelator.PowerOn, nil},
				{"Reset", pxelator.PowerOn, nil},
			},
			action: []string{"PowerCycle", "ForceRestart"},
		},
		{
			name:  "reset and cycle when off are refused",
			start: pxelator.PowerOff,
			steps: []step{
				{"Reset", pxelator.PowerOff, drac.ErrNotAllowed},
				{"Cycle", pxelator.PowerOff, drac.ErrNotAllowed},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			bmc, srv := startBMC(t)
			bmc.SetPower(tt.start)
			c := newRedfish(t, srv, drac.Config{BasicAuth: tt.basic})
			defer c.Close(ctx)
			calls := map[string]func(context.Context) error{
				"On": c.On, "Off": c.Off, "SoftOff": c.SoftOff, "Cycle": c.Cycle, "Reset": c.Reset,
			}
			for i, s := range tt.steps {
				err := calls[s.call](ctx)
				if s.wantErr == nil && err != nil {
					t.Fatalf("step %d %s: %v", i, s.call, err)
				}
				if s.wantErr != nil && !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d %s: err = %v, want %v", i, s.call, err, s.wantErr)
				}
				got, err := c.PowerState(ctx)
				if err != nil {
					t.Fatalf("step %d PowerState: %v", i, err)
				}
				if got != s.want || bmc.Power() != s.want {
					t.Fatalf("step %d %s: state %s (BMC %s), want %s", i, s.call, got, bmc.Power(), s.want)
				}
			}
			if got := bmc.Actions(); !slices.Equal(got, tt.action) {
				t.Errorf("BMC actions %q, want %q", got, tt.action)
			}
			if tt.basic && bmc.Logins() != 0 {
				t.Errorf("basic auth opened %d sessions", bmc.Logins())
			}
		})
	}
}

func TestRedfishRefusalMessage(t *testing.T) {
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	bmc.SetPower(pxelator.PowerOff)
	c := newRedfish(t, srv, drac.Config{})
	err := c.Reset(ctx)
	var e *drac.Error
	if !errors.As(err, &e) {
		t.Fatalf("Reset when off: %v, want a *drac.Error", err)
	}
	if e.StatusCode != 400 || !strings.Contains(e.Message, "powered off") {
		t.Errorf("error %+v: want 400 saying the server is powered off", e)
	}
	if !strings.Contains(err.Error(), "ForceRestart") {
		t.Errorf("error %q does not name the request", err)
	}
}

func TestRedfishUnsupportedResetType(t *testing.T) {
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	bmc.SetResetTypes("On", "ForceOff", "GracefulShutdown", "ForceRestart")
	c := newRedfish(t, srv, drac.Config{})
	err := c.Cycle(ctx)
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Cycle without PowerCycle: %v, want ErrUnsupported", err)
	}
	if n := len(bmc.Actions()); n != 0 {
		t.Errorf("BMC carried out %d actions", n)
	}
	if err := c.PowerAction(ctx, "Nmi"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Nmi, not offered either: %v", err)
	}
}

func TestRedfishNotInListIs400(t *testing.T) {
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	c := newRedfish(t, srv, drac.Config{})
	if _, err := c.System(ctx); err != nil {
		t.Fatal(err)
	}
	bmc.SetResetTypes("On") // the BMC changed its mind after the client cached the list
	err := c.Off(ctx)
	var e *drac.Error
	if !errors.As(err, &e) || e.StatusCode != 400 || e.MessageID != "Base.1.5.ActionParameterValueNotInList" {
		t.Fatalf("Off: %v, want 400 ActionParameterValueNotInList", err)
	}
	if !errors.Is(err, drac.ErrNotAllowed) {
		t.Errorf("400 is not ErrNotAllowed")
	}
}

func TestRedfishSystem(t *testing.T) {
	ctx := testContext(t)
	_, srv := startBMC(t)
	for _, id := range []string{"", dractest.SystemID} {
		c := newRedfish(t, srv, drac.Config{SystemID: id})
		sys, err := c.System(ctx)
		if err != nil {
			t.Fatalf("SystemID %q: %v", id, err)
		}
		if sys.ID != dractest.SystemID || sys.Manufacturer != "Dell Inc." || !slices.Contains(sys.ResetTypes, "PowerCycle") {
			t.Errorf("SystemID %q: %+v", id, sys)
		}
		c.Close(ctx)
	}
	c := newRedfish(t, srv, drac.Config{SystemID: "System.Embedded.2"})
	_, err := c.System(ctx)
	var e *drac.Error
	if !errors.As(err, &e) || e.StatusCode != 404 {
		t.Fatalf("unknown system: %v, want 404", err)
	}
}

func TestRedfishAuth(t *testing.T) {
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	for _, basic := range []bool{false, true} {
		c := newRedfish(t, srv, drac.Config{Password: "wrong-secret", BasicAuth: basic})
		_, err := c.PowerState(ctx)
		if !errors.Is(err, drac.ErrUnauthorized) {
			t.Fatalf("basic=%v: %v, want ErrUnauthorized", basic, err)
		}
		if strings.Contains(err.Error(), "wrong-secret") {
			t.Errorf("the password is in the error: %v", err)
		}
	}
	if n := bmc.Refused(); n != 2 {
		t.Errorf("BMC refused %d requests, want 2 (one each, no retries)", n)
	}
}

func TestRedfishSessionExpiry(t *testing.T) {
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	c := newRedfish(t, srv, drac.Config{})
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	bmc.ExpireSessions()
	// Many callers at once see the expired session: one new login.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.PowerState(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := bmc.Logins(); n != 2 {
		t.Errorf("%d logins, want 2 (the first and one after expiry)", n)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := bmc.Sessions(); n != 0 {
		t.Errorf("%d sessions open after Close", n)
	}
}

func TestRedfishTLS(t *testing.T) {
	ctx := testContext(t)
	_, srv := startBMC(t)
	c := must[*drac.Redfish](t)(drac.NewRedfish(srv.URL, drac.Config{Username: user, Password: password}))
	_, err := c.PowerState(ctx)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("self-signed certificate accepted by default: %v", err)
	}
	c = must[*drac.Redfish](t)(drac.NewRedfish(srv.URL, drac.Config{Username: user, Password: password, InsecureSkipVerify: true}))
	if _, err := c.PowerState(ctx); err != nil {
		t.Fatalf("InsecureSkipVerify: %v", err)
	}
	c.Close(ctx)
}

func TestRedfishAudit(t *testing.T) {
	ctx := testContext(t)
	_, srv := startBMC(t)
	rec := &audittest.Recorder{}
	c := newRedfish(t, srv, drac.Config{Recorder: rec})
	defer c.Close(ctx)
	if err := c.Off(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Off(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	offs := rec.Find("drac", "power_off")
	if len(offs) != 2 || offs[0].Fields["result"] != "ok" || offs[1].Fields["result"] != "already" {
		t.Fatalf("power_off events: %+v", offs)
	}
	st := rec.Find("drac", "power_state")
	if len(st) != 1 || st[0].Fields["state"] != "off" || !st[0].IP.IsLoopback() {
		t.Fatalf("power_state events: %+v", st)
	}
	for _, e := range rec.Events() {
		for k, v := range e.Fields {
			if s, ok := v.(string); ok && strings.Contains(s, password) {
				t.Errorf("event %s field %s holds the password", e.Action, k)
			}
		}
	}
}

func TestAddressWithCredentials(t *testing.T) {
	const address = "https://root:topsecret@192.0.2.1"
	_, err := drac.NewRedfish(address, drac.Config{})
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("address with credentials: %v", err)
	}
	_, err = drac.NewLegacy(address, drac.Config{})
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("legacy address with credentials: %v", err)
	}
}

func TestNewRedfishFor(t *testing.T) {
	ctx := testContext(t)
	_, srv := startBMC(t)
	m := pxelator.Machine{MAC: []byte{0x52, 0x54, 0, 1, 2, 3}}
	if _, err := drac.NewRedfishFor(m, drac.Config{}); err == nil {
		t.Fatal("machine without drac.address accepted")
	}
	m.Set(drac.AttrAddress, srv.URL)
	m.Set(drac.AttrUsername, "nobody")
	m.SetSecret(drac.AttrPassword, password)
	c := must[*drac.Redfish](t)(drac.NewRedfishFor(m, drac.Config{Username: user, HTTPClient: srv.Client()}))
	if _, err := c.PowerState(ctx); !errors.Is(err, drac.ErrUnauthorized) {
		t.Fatalf("with %s nobody: PowerState: %v, want ErrUnauthorized (the attribute takes the place of Config.Username)", drac.AttrUsername, err)
	}
	m.Set(drac.AttrUsername, user)
	rec := &audittest.Recorder{}
	c = must[*drac.Redfish](t)(drac.NewRedfishFor(m, drac.Config{HTTPClient: srv.Client(), Recorder: rec}))
	defer c.Close(ctx)
	if st, err := c.PowerState(ctx); err != nil || st != pxelator.PowerOn {
		t.Fatalf("PowerState: %s, %v", st, err)
	}
	if evs := rec.Find("drac", "power_state"); len(evs) != 1 || evs[0].MAC.String() != "52:54:00:01:02:03" {
		t.Fatalf("audit = %+v, want one power_state with the machine's MAC", evs)
	}
}

func TestRedfishResetStatuses(t *testing.T) {
	sys, err := os.ReadFile("testdata/redfish-system-embedded-1.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		status  int
		body    string
		wantErr error // nil: success
		other   bool  // some other error
	}{
		{200, `{}`, nil, false},
		{202, `{"@odata.id":"/redfish/v1/TaskService/Tasks/JID_1"}`, nil, false},
		{204, ``, nil, false},
		{400, `{"error":{"code":"Base.1.5.GeneralError"}}`, drac.ErrNotAllowed, false},
		{405, ``, drac.ErrNotAllowed, false},
		{403, ``, drac.ErrUnauthorized, false},
		{500, `not json`, nil, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.Method == http.MethodGet {
					w.Write(sys)
					return
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := must[*drac.Redfish](t)(drac.NewRedfish(srv.URL, drac.Config{SystemID: dractest.SystemID, BasicAuth: true}))
			err := c.Off(testContext(t))
			switch {
			case tt.other:
				var e *drac.Error
				if !errors.As(err, &e) || e.StatusCode != tt.status || errors.Is(err, drac.ErrNotAllowed) {
					t.Fatalf("err = %v", err)
				}
			case tt.wantErr == nil && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}
