package amttest_test

import (
	"os"
	"testing"
	"time"

	"github.com/pxelator/pxelator/amt/amttest"
)

// TestServeForBench runs an emulator for bench/amt.sh, which sets
// AMTTEST_SERVE_FILE: the URL is written to that file, and the emulator
// serves until the script removes it (or for ten minutes at most).
func TestServeForBench(t *testing.T) {
	file := os.Getenv("AMTTEST_SERVE_FILE")
	if file == "" {
		t.Skip("only for bench/amt.sh (AMTTEST_SERVE_FILE is not set)")
	}
	srv := amttest.NewServer(amttest.Options{})
	defer srv.Close()
	if err := os.WriteFile(file+".tmp", []byte(srv.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(file+".tmp", file); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(file); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // polling the file, not synchronising a test
	}
}
