package drac_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/drac"
)

// newLegacy returns a Legacy client of the emulator srv. Empty
// credentials and HTTPClient in cfg are those of the emulator.
func newLegacy(t testing.TB, srv *httptest.Server, cfg drac.Config) *drac.Legacy {
	t.Helper()
	return must[*drac.Legacy](t)(drac.NewLegacy(srv.URL, emulatorConfig(srv, cfg)))
}

func TestLegacyPowerActions(t *testing.T) {
	type step struct {
		call    string
		want    pxelator.PowerState
		wantErr error
	}
	tests := []struct {
		name   string
		start  pxelator.PowerState
		steps  []step
		action []string
	}{
		{
			name:  "down up up",
			start: pxelator.PowerOn,
			steps: []step{
				{"Off", pxelator.PowerOff, nil},
				{"Off", pxelator.PowerOff, nil}, // already off
				{"On", pxelator.PowerOn, nil},
				{"On", pxelator.PowerOn, nil}, // already on
			},
			action: []string{"powerdown", "powerup"},
		},
		{
			name:  "graceful, cycle and reset",
			start: pxelator.PowerOn,
			steps: []step{
				{"Cycle", pxelator.PowerOn, nil},
				{"Reset", pxelator.PowerOn, nil},
				{"SoftOff", pxelator.PowerOff, nil},
				{"SoftOff", pxelator.PowerOff, nil},
			},
			action: []string{"powercycle", "hardreset", "graceshutdown"},
		},
		{
			name:  "cycle when off is refused",
			start: pxelator.PowerOff,
			steps: []step{
				{"Cycle", pxelator.PowerOff, drac.ErrNotAllowed},
				{"Reset", pxelator.PowerOff, drac.ErrNotAllowed},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			bmc, srv := startBMC(t)
			bmc.SetPower(tt.start)
			c := newLegacy(t, srv, drac.Config{})
			calls := map[string]func() error{
				"On": func() error { return c.On(ctx) }, "Off": func() error { return c.Off(ctx) },
				"SoftOff": func() error { return c.SoftOff(ctx) }, "Cycle": func() error { return c.Cycle(ctx) },
				"Reset": func() error { return c.Reset(ctx) },
			}
			for i, s := range tt.steps {
				err := calls[s.call]()
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
			if n := bmc.Logins(); n != 1 {
				t.Errorf("%d logins, want one session for all commands", n)
			}
			if err := c.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if n := bmc.Sessions(); n != 0 {
				t.Errorf("%d sessions open after Close", n)
			}
		})
	}
}

func TestLegacyRACADMCommandError(t *testing.T) {
	ctx := testContext(t)
	_, srv := startBMC(t)
	c := newLegacy(t, srv, drac.Config{})
	defer c.Close(ctx)
	_, err := c.RACADM(ctx, "serveraction", "explode")
	var ce *drac.CommandError
	if !errors.As(err, &ce) || ce.Code != 2 || !strings.Contains(ce.Output, "Invalid action") {
		t.Fatalf("unknown action: %v", err)
	}
	// Markup in a command is escaped, not injected.
	if _, err := c.RACADM(ctx, "serveraction", "</CMDINPUT><x>"); !errors.As(err, &ce) {
		t.Fatalf("command with markup: %v", err)
	}
}

func TestLegacyAuth(t *testing.T) {
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	c := newLegacy(t, srv, drac.Config{Password: "wrong-secret"})
	if err := c.Login(ctx); !errors.Is(err, drac.ErrUnauthorized) {
		t.Fatalf("web login: %v, want ErrUnauthorized", err)
	}
	_, err := c.PowerState(ctx)
	if !errors.Is(err, drac.ErrUnauthorized) {
		t.Fatalf("racadm: %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("password in error: %v", err)
	}
	if n := bmc.Refused(); n != 2 {
		t.Errorf("BMC refused %d requests, want 2", n)
	}
}

func TestLegacyVirtualConsole(t *testing.T) {
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	bmc.SetVirtualConsole(5900, 5902, false)
	c := newLegacy(t, srv, drac.Config{})
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := c.VirtualConsole(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || s.KeyboardMousePort != 5900 || s.VideoPort != 5902 || s.Encrypted {
		t.Errorf("session %+v", s)
	}
	// The card drops the session: one new login, then the answer.
	bmc.ExpireSessions()
	bmc.SetVirtualConsole(5900, 5901, true)
	if s, err = c.VirtualConsole(ctx); err != nil {
		t.Fatal(err)
	}
	if !s.Encrypted || s.VideoPort != 5901 {
		t.Errorf("session %+v", s)
	}
	if n := bmc.Logins(); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if n := bmc.Sessions(); n != 0 {
		t.Errorf("%d sessions after Logout", n)
	}
}

func TestLegacySessionExpiry(t *testing.T) {
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	c := newLegacy(t, srv, drac.Config{})
	defer c.Close(ctx)
	if _, err := c.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	bmc.ExpireSessions()
	if err := c.Off(ctx); err != nil {
		t.Fatal(err)
	}
	if n := bmc.Logins(); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
	if bmc.Power() != pxelator.PowerOff {
		t.Errorf("BMC is %s", bmc.Power())
	}
}

func TestLegacyAudit(t *testing.T) {
	ctx := testContext(t)
	_, srv := startBMC(t)
	rec := &audittest.Recorder{}
	c := newLegacy(t, srv, drac.Config{Recorder: rec})
	defer c.Close(ctx)
	if err := c.On(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	on := rec.Find("drac", "power_on")
	if len(on) != 1 || on[0].Fields["result"] != "already" || on[0].Fields["protocol"] != "racadm" {
		t.Fatalf("power_on events %+v", on)
	}
	st := rec.Find("drac", "power_state")
	if len(st) != 1 || st[0].Fields["state"] != "on" {
		t.Fatalf("power_state events %+v", st)
	}
}

// TestNothingSecretLogged runs both clients through logins, an expired
// session and a refusal with debug logging on, and looks for the
// password and the console session id in the log.
func TestNothingSecretLogged(t *testing.T) {
	ctx := testContext(t)
	bmc, srv := startBMC(t)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rf := newRedfish(t, srv, drac.Config{Logger: log})
	lg := newLegacy(t, srv, drac.Config{Logger: log})
	if _, err := rf.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := lg.VirtualConsole(ctx)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("console", "session", s)
	bmc.ExpireSessions()
	if _, err := rf.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.PowerState(ctx); err != nil {
		t.Fatal(err)
	}
	rf.Close(ctx)
	lg.Close(ctx)
	out := buf.String()
	if !strings.Contains(out, "logging in again") || !strings.Contains(out, "video_port=5901") {
		t.Fatalf("the log misses the events:\n%s", out)
	}
	if strings.Contains(out, password) || strings.Contains(out, s.ID) {
		t.Fatalf("secret in the log:\n%s", out)
	}
}
