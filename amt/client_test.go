package amt_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
	"github.com/pxelator/pxelator/audit/audittest"
)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newClient(t testing.TB, srv *amttest.Server, cfg amt.Config) *amt.Client {
	t.Helper()
	cfg.Username, cfg.Password = srv.Username(), srv.Password()
	c, err := amt.NewClient(srv.URL, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// powerClient is the vocabulary shared by the power packages.
type powerClient interface {
	On(context.Context) error
	Off(context.Context) error
	SoftOff(context.Context) error
	Cycle(context.Context) error
	Reset(context.Context) error
	PowerState(context.Context) (pxelator.PowerState, error)
	Close(context.Context) error
}

var _ powerClient = (*amt.Client)(nil)

func TestPowerAgainstEmulator(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		for _, qop := range []string{"auth", "auth-int, auth", "auth,auth-int", "auth-int"} {
			t.Run(fmt.Sprintf("legacy=%t/qop=%s", legacy, qop), func(t *testing.T) {
				srv := amttest.NewServer(amttest.Options{QOP: qop, NonceUses: 3})
				defer srv.Close()
				rec := &audittest.Recorder{}
				c := newClient(t, srv, amt.Config{Legacy: legacy, Recorder: rec})
				ctx := ctxT(t)
				state := func(want pxelator.PowerState) {
					t.Helper()
					got, err := c.PowerState(ctx)
					if err != nil || got != want {
						t.Fatalf("PowerState() = %v, %v; want %v", got, err, want)
					}
					if srv.State() != want {
						t.Fatalf("emulator is %v, want %v", srv.State(), want)
					}
				}
				step := func(name string, op func(context.Context) error, want pxelator.PowerState) {
					t.Helper()
					if err := op(ctx); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					state(want)
				}
				state(pxelator.PowerOn)
				step("On when on", c.On, pxelator.PowerOn)
				step("Cycle", c.Cycle, pxelator.PowerOn)
				step("Reset", c.Reset, pxelator.PowerOn)
				step("Off", c.Off, pxelator.PowerOff)
				step("Off when off", c.Off, pxelator.PowerOff)
				step("On", c.On, pxelator.PowerOn)

				err := c.SoftOff(ctx)
				if legacy {
					if !errors.Is(err, errors.ErrUnsupported) {
						t.Fatalf("legacy SoftOff = %v, want ErrUnsupported", err)
					}
					step("Off", c.Off, pxelator.PowerOff)
				} else if err != nil {
					t.Fatalf("SoftOff: %v", err)
				}
				state(pxelator.PowerOff)

				// A machine that is off cannot be cycled or reset.
				for name, op := range map[string]func(context.Context) error{"Cycle": c.Cycle, "Reset": c.Reset} {
					err := op(ctx)
					var rv *amt.ReturnValueError
					var st *amt.StatusError
					switch {
					case !legacy && errors.As(err, &rv) && rv.Code == amt.ReturnUnknown:
					case legacy && errors.As(err, &st) && st.Status == amt.StatusNotPermitted:
					default:
						t.Fatalf("%s when off = %v, want the device's refusal", name, err)
					}
				}
				state(pxelator.PowerOff)

				wantChanges := []int{5, 10, 8, 2, 12}
				if legacy {
					wantChanges = []int{5, 10, 8, 2, 8}
				}
				if got := srv.Changes(); !slices.Equal(got, wantChanges) {
					t.Errorf("emulator changes = %v, want %v", got, wantChanges)
				}
				// Nonces were rotated along the way, never more than one 401
				// per request.
				if srv.Unauthorized() < 2 || srv.Unauthorized() > srv.Requests()/2+1 {
					t.Errorf("%d of %d requests were answered 401", srv.Unauthorized(), srv.Requests())
				}

				states := rec.Find("amt", "power_state")
				if len(states) == 0 || states[0].Fields["state"] != "on" {
					t.Fatalf("audit power_state events = %v", states)
				}
				for _, e := range rec.Events() {
					if s := fmt.Sprint(e.Fields); strings.Contains(s, srv.Password()) {
						t.Fatalf("audit event %s leaks the password: %s", e.Action, s)
					}
				}
				if ons := rec.Find("amt", "power_on"); len(ons) != 2 || ons[0].Fields["already"] != true || ons[1].Fields["already"] != false {
					t.Errorf("audit power_on events = %v, want one already-on and one change", ons)
				}
			})
		}
	}
}

func TestNewClientFor(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{})
	defer srv.Close()
	mac := []byte{0x52, 0x54, 0, 1, 2, 3}
	m := pxelator.Machine{MAC: mac}
	if _, err := amt.NewClientFor(m, amt.Config{}); err == nil {
		t.Fatal("NewClientFor without address: no error")
	}
	m.Set(amt.AttrAddress, srv.URL)
	m.SetSecret(amt.AttrPassword, srv.Password())
	m.Set(amt.AttrUsername, "nobody")
	if c, err := amt.NewClientFor(m, amt.Config{Username: srv.Username()}); err != nil {
		t.Fatal(err)
	} else if _, err := c.PowerState(ctxT(t)); !errors.Is(err, amt.ErrUnauthorized) {
		t.Fatalf("with %s nobody: PowerState() = %v, want ErrUnauthorized (the attribute takes the place of Config.Username)", amt.AttrUsername, err)
	}
	m.Set(amt.AttrUsername, srv.Username())
	rec := &audittest.Recorder{}
	c, err := amt.NewClientFor(m, amt.Config{Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Off(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	evs := rec.Find("amt", "power_off")
	if len(evs) != 1 || evs[0].MAC.String() != "52:54:00:01:02:03" || evs[0].IP.String() != "127.0.0.1" {
		t.Fatalf("audit = %+v", evs)
	}
}
