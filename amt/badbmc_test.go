package amt_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
)

// badBMC is a device that misbehaves in one way; it counts the requests
// it gets so that a test can check the client does not retry in a loop.
func badBMC(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) (*amt.Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		// Read the body so that the server notices a client that goes
		// away and cancels r.Context().
		io.Copy(io.Discard, r.Body)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := amt.NewClient(srv.URL, amt.Config{Username: "admin", Password: "s3cret-pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c, &n
}

func challenge(w http.ResponseWriter) { challengeStale(w, false) }

func challengeStale(w http.ResponseWriter, stale bool) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Digest realm="Digest:X", nonce="n%d",stale="%t",qop="auth"`, time.Now().UnixNano(), stale))
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte("<html><h2 class=warn>Log on failed.</h2></html>"))
}

func TestBadBMC(t *testing.T) {
	hijack := func(w http.ResponseWriter, raw string) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		buf.WriteString(raw)
		buf.Flush()
		conn.Close()
	}
	tests := []struct {
		name      string
		handler   func(w http.ResponseWriter, r *http.Request)
		timeout   time.Duration
		want      string // in the error message
		is        error
		maxTries  int32
		wantError any
	}{
		{
			name:    "hangs",
			handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			timeout: 300 * time.Millisecond, want: "deadline exceeded", is: context.DeadlineExceeded, maxTries: 1,
		},
		{
			name: "answers HTML",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.Write([]byte("<html><head><title>Intel(R) AMT Web UI</title></head><body>Hello</body></html>"))
			},
			want: "HTTP 200 with text/html; charset=utf-8, not a SOAP envelope: Intel(R) AMT Web UI", maxTries: 1,
			wantError: new(*amt.HTTPError),
		},
		{
			name:    "answers 404",
			handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			want:    "HTTP 404", maxTries: 1, wantError: new(*amt.HTTPError),
		},
		{
			name:    "closes the connection",
			handler: func(w http.ResponseWriter, r *http.Request) { hijack(w, "") },
			want:    "closed the connection without answering", is: io.EOF, maxTries: 1,
		},
		{
			name: "wrong content length",
			handler: func(w http.ResponseWriter, r *http.Request) {
				hijack(w, "HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml\r\nContent-Length: 1000\r\n\r\n<a:Envelope xmlns:a=\"http://www.w3.org/2003/05/soap-envelope\"><a:Body>")
			},
			want: "closed the connection before the 1000 bytes it announced", is: errTruncated, maxTries: 1,
		},
		{
			name: "garbage XML",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/soap+xml")
				w.Write([]byte("<a:Envelope><a:Body><unclosed></a:Body>"))
			},
			want: "not well-formed XML", maxTries: 1,
		},
		{
			name: "asks for auth again after login",
			handler: func(w http.ResponseWriter, r *http.Request) {
				challenge(w) // with or without credentials
			},
			want: "authentication failed", is: amt.ErrUnauthorized, maxTries: 2,
		},
		{
			name:    "says the nonce is stale forever",
			handler: func(w http.ResponseWriter, r *http.Request) { challengeStale(w, true) },
			want:    "authentication failed", is: amt.ErrUnauthorized, maxTries: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, n := badBMC(t, tt.handler)
			ctx := ctxT(t)
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			start := time.Now()
			st, err := c.PowerState(ctx)
			if err == nil {
				t.Fatalf("PowerState() = %v, nil; want an error", st)
			}
			t.Logf("error: %v", err)
			if !strings.HasPrefix(err.Error(), "amt: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if tt.is != nil && tt.is != errTruncated && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if tt.wantError != nil && !errors.As(err, tt.wantError) {
				t.Errorf("error %T is not %T", err, tt.wantError)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("error leaks the password")
			}
			if got := n.Load(); got > tt.maxTries {
				t.Errorf("device got %d requests, want at most %d", got, tt.maxTries)
			}
			if time.Since(start) > 30*time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
}

var errTruncated = errors.New("truncated")

func TestUnauthorizedEmulator(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{})
	defer srv.Close()
	c, err := amt.NewClient(srv.URL, amt.Config{Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := c.On(ctxT(t)); !errors.Is(err, amt.ErrUnauthorized) {
			t.Fatalf("On with a wrong password = %v, want ErrUnauthorized", err)
		}
	}
	// Each call is one unauthenticated request and one answer to the
	// challenge: no retry storm.
	if got := srv.Requests(); got != 6 {
		t.Errorf("emulator got %d requests for 3 calls, want 6", got)
	}
	if srv.State() != pxelator.PowerOn || len(srv.Changes()) != 0 {
		t.Errorf("a refused login changed the state")
	}
}

func TestTLS(t *testing.T) {
	srv := amttest.NewTLSServer(amttest.Options{State: pxelator.PowerOff})
	defer srv.Close()
	ctx := ctxT(t)

	c := newClient(t, srv, amt.Config{})
	var uerr *tls.CertificateVerificationError
	if _, err := c.PowerState(ctx); !errors.As(err, &uerr) {
		t.Fatalf("self-signed certificate with verification on: %v, want a verification error", err)
	}
	if srv.Requests() != 0 {
		t.Errorf("a request reached the device over an unverified connection")
	}

	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	for name, cfg := range map[string]amt.Config{
		"trusted CA": {TLSConfig: &tls.Config{RootCAs: pool}},
		"insecure":   {InsecureSkipVerify: true},
	} {
		c := newClient(t, srv, cfg)
		if st, err := c.PowerState(ctx); err != nil || st != pxelator.PowerOff {
			t.Errorf("%s: PowerState() = %v, %v", name, st, err)
		}
	}
}

func TestEnumerateFallback(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{NoGet: true, State: pxelator.PowerSleep})
	defer srv.Close()
	c := newClient(t, srv, amt.Config{})
	info, err := c.PowerInfo(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.PowerState != 4 || info.State() != pxelator.PowerSleep {
		t.Errorf("PowerInfo = %+v, want deep sleep", info)
	}
}

func TestFaults(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{})
	defer srv.Close()
	c := newClient(t, srv, amt.Config{})
	err := c.RequestPowerStateChange(ctxT(t), 99)
	var rv *amt.ReturnValueError
	if !errors.As(err, &rv) || rv.Code != amt.ReturnInvalidParameter {
		t.Errorf("PowerState 99: %v, want ReturnValue 5", err)
	}
}

// TestAuthAgainAfterLogin: a device accepts the login, answers once, then
// asks for authentication again on every request. The client gives up
// after one fresh attempt per call.
func TestAuthAgainAfterLogin(t *testing.T) {
	get := readVector(t, "get-associatedpower.response.xml")
	var authed atomic.Int32
	c, n := badBMC(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" || authed.Add(1) > 1 {
			challenge(w)
			return
		}
		w.Header().Set("Content-Type", "application/soap+xml")
		w.Write(get)
	})
	ctx := ctxT(t)
	if st, err := c.PowerState(ctx); err != nil || st != pxelator.PowerOn {
		t.Fatalf("first PowerState() = %v, %v", st, err)
	}
	first := n.Load()
	for range 3 {
		if _, err := c.PowerState(ctx); !errors.Is(err, amt.ErrUnauthorized) {
			t.Fatalf("PowerState() after the device dropped the login = %v, want ErrUnauthorized", err)
		}
	}
	if got := n.Load() - first; got != 6 {
		t.Errorf("3 calls made %d requests, want 6 (one retry each)", got)
	}
}
