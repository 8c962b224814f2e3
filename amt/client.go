package amt

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/icholy/digest"
	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Ports AMT listens on.
const (
	PortHTTP  = 16992
	PortHTTPS = 16993
)

// DefaultTimeout bounds one operation when [Config.Timeout] is zero and
// the context has no earlier deadline.
const DefaultTimeout = 30 * time.Second

// maxBody bounds the size of an answer read from a device.
const maxBody = 1 << 20

// Config configures a [Client]. The zero value is usable apart from the
// credentials.
type Config struct {
	Username string // default "admin"
	Password string

	// Legacy selects the SOAP RemoteControlService of AMT 2 to 5 instead
	// of WS-Management.
	Legacy bool

	// InsecureSkipVerify accepts any TLS certificate, such as the
	// self-signed one AMT ships with. Off by default: prefer a TLSConfig
	// that trusts the device's certificate.
	InsecureSkipVerify bool
	// TLSConfig, when not nil, is used for https endpoints (cloned; for
	// instance to trust the device's CA with RootCAs).
	TLSConfig *tls.Config

	// Transport, when not nil, carries the requests instead of a clone of
	// http.DefaultTransport; InsecureSkipVerify and TLSConfig are then
	// ignored.
	Transport http.RoundTripper

	// Timeout bounds each operation; zero means DefaultTimeout, a
	// negative value no bound other than the context's.
	Timeout time.Duration

	// Recorder, when not nil, records every power action and state
	// reading (never credentials).
	Recorder audit.Recorder
	// MAC is the managed machine's hardware address, for audit records.
	MAC net.HardwareAddr

	// Logger receives debug logs of the requests (never credentials);
	// nil means slog.Default().
	Logger *slog.Logger
}

// Client talks to one AMT device. It is safe for concurrent use.
type Client struct {
	base   *url.URL // scheme://host:port
	host   string   // host part of the endpoint, for audit
	cfg    Config
	http   *http.Client
	digest *digest.Transport
}

// NewClient returns a client for the AMT device at endpoint, which is a
// host name or address with an optional port ("10.0.0.5",
// "amt.example:16993", "[fe80::1%eth0]:16992") or a URL with scheme
// http or https ("https://10.0.0.5"). Without a port, http uses 16992 and
// https 16993; a bare host with port 16993 uses https.
func NewClient(endpoint string, cfg Config) (*Client, error) {
	base, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.Username == "" {
		cfg.Username = "admin"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	rt := cfg.Transport
	if rt == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.TLSConfig.Clone()
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		if cfg.InsecureSkipVerify {
			tr.TLSClientConfig.InsecureSkipVerify = true
		}
		tr.MaxIdleConnsPerHost = 2
		rt = tr
	}
	dt := &digest.Transport{
		Username:      cfg.Username,
		Password:      cfg.Password,
		Transport:     rt,
		FindChallenge: findChallenge,
	}
	c := &Client{
		base:   base,
		host:   base.Hostname(),
		cfg:    cfg,
		digest: dt,
		http: &http.Client{
			Transport: dt,
			// A BMC never redirects a SOAP call; following one would
			// send the body elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	return c, nil
}

// Machine attributes [NewClientFor] reads.
const (
	AttrAddress  = "amt.address"  // the device's endpoint, as for NewClient
	AttrUsername = "amt.username" // the user name (default: cfg.Username, else "admin")
	AttrPassword = "amt.password" // the password, a secret attribute
)

// NewClientFor returns a client for the AMT device of machine m, from
// its attributes amt.address (default: m's IP address), amt.username and
// amt.password, which take the place of cfg's Username and Password when
// set; cfg supplies the rest. Audit records carry m's MAC.
func NewClientFor(m pxelator.Machine, cfg Config) (*Client, error) {
	addr := m.Get(AttrAddress)
	if addr == "" && m.IP.IsValid() {
		addr = m.IP.String()
	}
	if addr == "" {
		return nil, fmt.Errorf("amt: machine %v has no %s and no IP address", m.MAC, AttrAddress)
	}
	cfg.Username = cmp.Or(m.Get(AttrUsername), cfg.Username)
	cfg.Password = cmp.Or(m.Get(AttrPassword), cfg.Password)
	cfg.MAC = m.MAC
	return NewClient(addr, cfg)
}

func parseEndpoint(endpoint string) (*url.URL, error) {
	if endpoint == "" {
		return nil, errors.New("amt: empty endpoint")
	}
	if !strings.Contains(endpoint, "://") {
		host, port, err := net.SplitHostPort(endpoint)
		if err != nil { // no port
			host, port = strings.Trim(endpoint, "[]"), ""
		}
		scheme := "http"
		if port == strconv.Itoa(PortHTTPS) {
			scheme = "https"
		}
		endpoint = scheme + "://" + hostPort(host, port)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("amt: endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("amt: endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("amt: endpoint %q: no host", endpoint)
	}
	if u.User != nil {
		return nil, fmt.Errorf("amt: endpoint: put credentials in Config, not in the URL")
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" && p != "/wsman" && p != "/RemoteControlService" {
		return nil, fmt.Errorf("amt: endpoint %q: unexpected path %q", endpoint, u.Path)
	}
	port := u.Port()
	if port == "" {
		port = strconv.Itoa(PortHTTP)
		if u.Scheme == "https" {
			port = strconv.Itoa(PortHTTPS)
		}
	}
	return &url.URL{Scheme: u.Scheme, Host: hostPort(u.Hostname(), port)}, nil
}

func hostPort(host, port string) string {
	if port == "" {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

// URL returns the base URL requests go to, such as http://10.0.0.5:16992.
func (c *Client) URL() string { return c.base.String() }

// Close closes the connections kept open to the device; AMT has no
// session to end. The client can be used again afterwards.
func (c *Client) Close(ctx context.Context) error {
	c.digest.CloseIdleConnections()
	return nil
}

// post sends one SOAP request to path and returns the decoded answer. A
// SOAP fault is returned as a *Fault error.
func (c *Client) post(ctx context.Context, path, soapAction string, body []byte) (*envelope, error) {
	if timeout := c.cfg.Timeout; timeout >= 0 {
		if timeout == 0 {
			timeout = DefaultTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	u := c.base.String() + path
	resp, err := c.send(ctx, u, soapAction, body)
	if err != nil {
		err = unwrapURLError(err)
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("the device closed the connection without answering: %w", err)
		}
		return nil, fmt.Errorf("amt: POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("the device closed the connection before the %d bytes it announced: %w", resp.ContentLength, err)
		}
		return nil, fmt.Errorf("amt: POST %s: reading the answer: %w", u, err)
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("amt: POST %s: answer larger than %d bytes", u, maxBody)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, fmt.Errorf("amt: POST %s: %w for user %q (HTTP 401): wrong user name or password, a locked account, or a device that refuses the login",
			u, ErrUnauthorized, c.cfg.Username)
	}
	ct := resp.Header.Get("Content-Type")
	soapish := resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusInternalServerError
	if !soapish || strings.Contains(strings.ToLower(ct), "html") {
		return nil, &HTTPError{URL: u, Status: resp.StatusCode, ContentType: ct, Snippet: snippet(data)}
	}
	env, err := decodeEnvelope(data)
	if err != nil {
		if resp.StatusCode != http.StatusOK {
			return nil, &HTTPError{URL: u, Status: resp.StatusCode, ContentType: ct, Snippet: snippet(data)}
		}
		return nil, fmt.Errorf("amt: POST %s: %w", u, err)
	}
	if env.Body.Fault != nil {
		f := env.Body.Fault.fault()
		f.Status = resp.StatusCode
		return nil, f
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPError{URL: u, Status: resp.StatusCode, ContentType: ct, Snippet: snippet(data)}
	}
	return env, nil
}

// maxStale bounds the attempts of one request that the device answers
// with a stale nonce.
const maxStale = 3

// send posts body to u. The digest transport answers a challenge once;
// when the device then still answers 401 because the nonce went stale
// (other requests used it up meanwhile), the request is sent again with
// the new nonce, at most maxStale times: a wrong password is not retried.
func (c *Client) send(ctx context.Context, u, soapAction string, body []byte) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if soapAction != "" {
			req.Header.Set("Content-Type", "text/xml; charset=utf-8")
			req.Header.Set("SOAPAction", `"`+soapAction+`"`)
		} else {
			req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
		}
		start := time.Now()
		resp, err := c.http.Do(req)
		c.cfg.Logger.DebugContext(ctx, "amt: request", "url", u, "attempt", attempt, "duration", time.Since(start), "err", err)
		if err != nil || resp.StatusCode != http.StatusUnauthorized || attempt == maxStale {
			return resp, err
		}
		chal, cerr := findChallenge(resp.Header)
		if cerr != nil || !chal.Stale {
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
	}
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// method and URL that the caller already prints.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

var (
	titleRE = regexp.MustCompile(`(?is)<title>(.*?)</title>|<h[12][^>]*>(.*?)</h[12]>`)
	tagRE   = regexp.MustCompile(`<[^>]*>`)
)

// snippet returns something a person can read from the start of a body
// that is not SOAP: the title of an HTML page, or its first characters.
func snippet(data []byte) string {
	s := string(data)
	if m := titleRE.FindStringSubmatch(s); m != nil {
		s = m[1] + m[2]
	}
	s = tagRE.ReplaceAllString(s, " ")
	s = strings.Join(strings.Fields(s), " ")
	s = strings.ToValidUTF8(s, "?")
	if r := []rune(s); len(r) > 120 {
		s = string(r[:120]) + "..."
	}
	return s
}

// record sends an audit event about the device.
func (c *Client) record(ctx context.Context, action string, fields map[string]any, err error) {
	if c.cfg.Recorder == nil {
		return
	}
	if fields == nil {
		fields = map[string]any{}
	}
	fields["address"] = c.base.Host
	if c.cfg.Legacy {
		fields["protocol"] = "legacy"
	} else {
		fields["protocol"] = "wsman"
	}
	if err != nil {
		fields["error"] = err.Error()
	}
	e := audit.Event{Package: "amt", Action: action, MAC: c.cfg.MAC, Fields: fields}
	if ip, perr := netip.ParseAddr(c.host); perr == nil {
		e.IP = ip
	} else {
		e.Ident = c.host
	}
	audit.Record(ctx, c.cfg.Recorder, e)
}
