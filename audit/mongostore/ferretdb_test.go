package mongostore_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The MongoDB tests run against FerretDB with its SQLite backend, built
// from the tools module tools/ferretdb of this repository, or against the
// server of PXELATOR_MONGO_URI when it is set.

// ferretBinary builds tools/ferretdb once into a cache directory keyed
// by the hash of its sources, and returns the binary's path.
func ferretBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		// A cold build downloads about 600 MB of modules: allow it up to
		// 30 minutes, but end a minute before the test binary's deadline
		// so that the failure says why.
		deadline := time.Now().Add(30 * time.Minute)
		if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
			if dl, ok := d.Deadline(); ok && dl.Add(-time.Minute).Before(deadline) {
				deadline = dl.Add(-time.Minute)
			}
		}
		binPath, binErr = buildFerret(deadline)
	})
	if errors.Is(binErr, exec.ErrNotFound) {
		t.Skipf("no go command to build FerretDB: %v", binErr)
	}
	if binErr != nil {
		t.Fatalf("building FerretDB: %v", binErr)
	}
	return binPath
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func buildFerret(deadline time.Time) (string, error) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	src, err := filepath.Abs(filepath.Join("..", "..", "tools", "ferretdb"))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", f, len(b))
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "pxelator", "ferretdb-"+hex.EncodeToString(h.Sum(nil))[:16])
	bin := filepath.Join(dir, "ferretdb")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("go build in %s: not done by %v (run go test with a longer -timeout, or build once beforehand): %v\n%s", src, deadline.Format(time.TimeOnly), err, out)
		}
		return "", fmt.Errorf("go build in %s: %v\n%s", src, err, out)
	}
	return bin, os.Rename(tmp, bin)
}

// ferret is a running FerretDB process.
type ferret struct {
	cmd    *exec.Cmd
	URI    string
	stderr *lockedBuffer
	done   chan struct{}
}

// startFerret starts FerretDB on listen (host:port; port 0 for any) with
// its SQLite files in dir, and waits until it listens.
func startFerret(bin, dir, listen string) (*ferret, error) {
	cmd := exec.Command(bin, "-dir", dir, "-listen", listen)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	f := &ferret{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = f.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting FerretDB: %w", err)
	}
	uri := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			uri <- sc.Text()
		}
		close(uri)
		io.Copy(io.Discard, stdout)
	}()
	go func() { cmd.Wait(); close(f.done) }()
	select {
	case u, ok := <-uri:
		if !ok || !strings.HasPrefix(u, "mongodb://") {
			f.stop()
			return nil, fmt.Errorf("FerretDB did not start (first line %q): %s", u, f.stderr)
		}
		f.URI = u
	case <-time.After(2 * time.Minute):
		f.stop()
		return nil, fmt.Errorf("FerretDB did not start in 2 minutes: %s", f.stderr)
	}
	return f, nil
}

// stop kills the process and waits for it.
func (f *ferret) stop() {
	select {
	case <-f.done:
		return
	default:
	}
	f.cmd.Process.Kill()
	<-f.done
}

// lockedBuffer collects a process's standard error.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 1<<20 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proxy forwards TCP connections from an address the test keeps to the
// FerretDB of the moment, so that FerretDB can be stopped and started
// again (on any free port) while the store keeps its URI.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	target string // "" means down: connections are closed at once
	conns  map[net.Conn]bool
}

func newProxy(t testing.TB) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, conns: make(map[net.Conn]bool)}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.setTarget("") })
	return p
}

// URI is the MongoDB URI of the proxy.
func (p *proxy) URI() string { return "mongodb://" + p.ln.Addr().String() + "/" }

// setTarget forwards new connections to addr; "" closes every
// connection and refuses new ones.
func (p *proxy) setTarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = addr
	if addr == "" {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		if target == "" {
			c.Close()
			continue
		}
		s, err := net.DialTimeout("tcp", target, 10*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[s] = true, true
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(c, s)
		go pipe(s, c)
	}
}
