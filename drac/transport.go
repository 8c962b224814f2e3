package drac

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds every response body the package reads: a Redfish system
// resource is a few kilobytes, a racadm output at most 4 KiB.
const maxBody = 1 << 20

// Errors the clients wrap. Test with errors.Is.
var (
	// ErrUnauthorized means the BMC refused the credentials, at login or
	// again right after a fresh login.
	ErrUnauthorized = errors.New("authentication failed")
	// ErrNotAllowed means the BMC refused a power action in the current
	// state (Redfish 400, or a 409 that is not "already in that state").
	ErrNotAllowed = errors.New("action not allowed")
	// ErrProtocol means the BMC answered something that is not the
	// protocol spoken: an HTML page, a truncated or malformed body.
	ErrProtocol = errors.New("unexpected response")
)

// endpoint is the parsed address of a BMC.
type endpoint struct {
	base *url.URL // scheme and host only
	host string   // host name or address, for audit
}

// parseAddress accepts "host", "host:port" or "scheme://host[:port]"
// (scheme http or https, the default). User information in the address is
// refused so that no password can end up in a URL, a log or an error.
func parseAddress(pkgOp, addr string) (endpoint, error) {
	if addr == "" {
		return endpoint{}, fmt.Errorf("drac: %s: empty address", pkgOp)
	}
	raw := addr
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("drac: %s: bad address: %w", pkgOp, redactURLError(err))
	}
	if u.User != nil {
		return endpoint{}, fmt.Errorf("drac: %s: address must not hold credentials; put them in Config", pkgOp)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return endpoint{}, fmt.Errorf("drac: %s: unsupported scheme %q", pkgOp, u.Scheme)
	}
	if u.Host == "" {
		return endpoint{}, fmt.Errorf("drac: %s: address %q has no host", pkgOp, addr)
	}
	return endpoint{base: &url.URL{Scheme: u.Scheme, Host: u.Host}, host: u.Hostname()}, nil
}

// redactURLError drops the URL from a *url.Error, leaving only the
// operation and the cause.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// url returns the absolute URL for path (which may carry a query).
func (e endpoint) url(path string) string {
	u := *e.base
	p, q, _ := strings.Cut(path, "?")
	u.Path = p
	u.RawQuery = q
	return u.String()
}

// newHTTPClient returns the client to use: c when given, otherwise one
// that verifies certificates unless insecure is set.
func newHTTPClient(c *http.Client, insecure bool, jar http.CookieJar) *http.Client {
	if c == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if insecure {
			// The self-signed certificates iDRACs ship with: only on
			// explicit request.
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // explicit option
		}
		c = &http.Client{Transport: tr}
	} else {
		cc := *c
		c = &cc
	}
	if jar != nil {
		c.Jar = jar
	}
	// Never follow redirects: a BMC that sends the browser to its login
	// page means "session gone", and following would hide that.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// response is a fully read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// mediaType returns the response's media type, lower case, without
// parameters.
func (r *response) mediaType() string {
	mt, _, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// looksHTML reports whether the response is an HTML page: a login page,
// an error page of a proxy, or a web interface where an API was expected.
func (r *response) looksHTML() bool {
	if r.mediaType() == "text/html" {
		return true
	}
	b := strings.TrimSpace(string(r.body[:min(len(r.body), 512)]))
	b = strings.ToLower(b)
	return strings.HasPrefix(b, "<!doctype html") || strings.HasPrefix(b, "<html")
}

// roundTrip sends req and reads the whole response body (bounded by
// maxBody). A transport error or a body that ends early (closed
// connection, wrong Content-Length) is returned wrapped with op; the URL,
// which might carry a session id, is left out.
func roundTrip(ctx context.Context, c *http.Client, req *http.Request, op string) (*response, error) {
	resp, err := c.Do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("drac: %s: %w", op, ctx.Err())
		}
		return nil, fmt.Errorf("drac: %s: %w", op, redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("drac: %s: reading response: %w", op, ctx.Err())
		}
		return nil, fmt.Errorf("drac: %s: reading response (HTTP %d): %w: %w", op, resp.StatusCode, ErrProtocol, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("drac: %s: response larger than %d bytes: %w", op, maxBody, ErrProtocol)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// snippet returns the start of a body for an error message, on one line.
func snippet(b []byte) string {
	const n = 80
	s := strings.Join(strings.Fields(string(b[:min(len(b), 4*n)])), " ")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
