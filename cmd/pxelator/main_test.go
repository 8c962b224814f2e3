package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRunStartsAndStops runs the server with a fresh conf directory and
// checks that it says what it serves and stops when its context ends.
func TestRunStartsAndStops(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "conf")
	ctx, cancel := context.WithCancel(context.Background())
	var out lockedBuffer
	done := make(chan error, 1)
	args := append([]string{"-conf", conf, "-server-ip", "127.0.0.1", "-audit", "none"}, loopbackFlags...)
	go func() { done <- run(ctx, args, &out, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "serving segment") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if !strings.Contains(out.String(), "serving segment 127.0.0.1") {
		t.Errorf("start-up line missing from %q", out.String())
	}
	if _, err := os.Stat(conf); err != nil {
		t.Errorf("conf directory not created: %v", err)
	}
}

// TestSignals builds the server and checks that SIGTERM stops it cleanly.
func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "pxelator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout lockedBuffer
	args := append([]string{"-conf", filepath.Join(t.TempDir(), "conf"), "-server-ip", "127.0.0.1", "-audit", "none"}, loopbackFlags...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "serving segment") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stdout.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no exit after SIGTERM\n%s", stdout.String())
	}
	if !strings.Contains(stdout.String(), "shutting down") {
		t.Errorf("no shutdown line in %q", stdout.String())
	}
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loopbackFlags keep the protocol services of the server under test on
// loopback and ephemeral ports.
var loopbackFlags = []string{
	"-dhcp", "127.0.0.1:0", "-tftp", "127.0.0.1:0", "-http", "127.0.0.1:0",
	"-dns", "127.0.0.1:0", "-syslog", "127.0.0.1:0",
}
