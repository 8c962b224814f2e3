package schedule_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/dirstore"
	"github.com/pxelator/pxelator/power/powertest"
	"github.com/pxelator/pxelator/schedule"
)

// TestEditByHand: a kiosk.on written with echo into the machine's
// directory, as a person or git pull does, counts without a restart.
func TestEditByHand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conf := t.TempDir()
	dir := filepath.Join(conf, "10.0.0.1", "10.0.0.11")
	write := func(key, value string) {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, key), []byte(value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("mac", "52:54:00:00:00:0b")
	write(schedule.AttrOn, "08:00")
	store, err := dirstore.Open(ctx, conf, &dirstore.Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	c := &clock{}
	c.Set(time.Date(2026, 11, 27, 7, 30, 0, 0, zagreb))
	fake := powertest.New(pxelator.PowerOff)
	rec := &audittest.Recorder{}
	s, err := schedule.New(store, &schedule.Options{
		Power: func(pxelator.Machine) (schedule.Power, error) { return fake, nil },
		Now:   c.Now, Location: zagreb, Tick: 5 * time.Millisecond, Recorder: rec, Logger: discardLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	c.Set(time.Date(2026, 11, 27, 7, 31, 0, 0, zagreb))
	write(schedule.AttrOn, "07:31")
	for deadline := time.Now().Add(30 * time.Second); fake.State() != pxelator.PowerOn; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the edited kiosk.on did not count in 30 s: %v", fake.Actions())
		}
	}
	if evs := rec.Find("schedule", "on"); len(evs) != 1 || evs[0].Fields["planned"] != "2026-11-27T07:31:00+01:00" {
		t.Errorf("events %+v", evs)
	}
}
