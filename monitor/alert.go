package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// Alert is a machine's change of state that someone should hear of: down
// (and not expected down), or up again after a down alert.
type Alert struct {
	Time      time.Time
	State     State // Down or Up
	IP        netip.Addr
	MAC       net.HardwareAddr
	Hostname  string
	Misses    int           // pings missed in a row
	RTT       time.Duration // of the last reply
	LastReply time.Time     // zero when it never answered
}

// Env returns the alert as environment variables: PXELATOR_STATE (up or
// down), PXELATOR_IP, PXELATOR_MAC, PXELATOR_HOSTNAME, PXELATOR_TIME and
// PXELATOR_LAST_REPLY (RFC 3339, empty when it never answered),
// PXELATOR_MISSES and PXELATOR_RTT (milliseconds).
func (a Alert) Env() []string {
	mac := ""
	if a.MAC != nil {
		mac = a.MAC.String()
	}
	return []string{
		"PXELATOR_STATE=" + string(a.State),
		"PXELATOR_IP=" + a.IP.String(),
		"PXELATOR_MAC=" + mac,
		"PXELATOR_HOSTNAME=" + a.Hostname,
		"PXELATOR_TIME=" + a.Time.Format(time.RFC3339),
		"PXELATOR_LAST_REPLY=" + rfc3339(a.LastReply),
		"PXELATOR_MISSES=" + strconv.Itoa(a.Misses),
		"PXELATOR_RTT=" + strconv.FormatFloat(ms(a.RTT), 'f', -1, 64),
	}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// MarshalJSON encodes the alert as a webhook posts it: {"state": "down",
// "ip": ..., "mac": ..., "hostname": ..., "time": ..., "last_reply": ...,
// "misses": 3, "rtt": 0.25}, rtt in milliseconds.
func (a Alert) MarshalJSON() ([]byte, error) {
	type alertJSON struct {
		State     State   `json:"state"`
		IP        string  `json:"ip"`
		MAC       string  `json:"mac,omitempty"`
		Hostname  string  `json:"hostname,omitempty"`
		Time      string  `json:"time"`
		LastReply string  `json:"last_reply,omitempty"`
		Misses    int     `json:"misses"`
		RTT       float64 `json:"rtt"`
	}
	j := alertJSON{State: a.State, IP: a.IP.String(), Hostname: a.Hostname, Time: a.Time.Format(time.RFC3339Nano),
		LastReply: rfc3339(a.LastReply), Misses: a.Misses, RTT: ms(a.RTT)}
	if a.MAC != nil {
		j.MAC = a.MAC.String()
	}
	return json.Marshal(j)
}

// Alerter is told of alerts.
type Alerter interface {
	Alert(ctx context.Context, a Alert) error
}

// AlerterFunc adapts a function to an [Alerter].
type AlerterFunc func(ctx context.Context, a Alert) error

// Alert calls f(ctx, a).
func (f AlerterFunc) Alert(ctx context.Context, a Alert) error { return f(ctx, a) }

// Alerters returns an Alerter that tells each of as, in order.
func Alerters(as ...Alerter) Alerter {
	return AlerterFunc(func(ctx context.Context, a Alert) error {
		var errs []error
		for _, x := range as {
			errs = append(errs, x.Alert(ctx, a))
		}
		return errors.Join(errs...)
	})
}

// Command returns an Alerter that runs the shell command line cmd with
// /bin/sh -c, with the alert in its environment ([Alert.Env]) besides the
// program's own. The command fails the alert when it exits with a status
// other than 0; its output then goes in the error.
func Command(cmd string) Alerter {
	return AlerterFunc(func(ctx context.Context, a Alert) error {
		c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
		c.Env = append(os.Environ(), a.Env()...)
		out, err := c.CombinedOutput()
		if err != nil {
			return fmt.Errorf("monitor: alert command: %w: %s", err, snippet(out))
		}
		return nil
	})
}

// Webhook returns an Alerter that posts each alert as JSON
// ([Alert.MarshalJSON]) to the URL u with client (http.DefaultClient when
// nil). An answer other than 2xx fails the alert. Errors name only the
// URL's host: webhook URLs often carry a secret.
func Webhook(u string, client *http.Client) (Alerter, error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, fmt.Errorf("monitor: webhook URL: want http:// or https://")
	}
	if client == nil {
		client = http.DefaultClient
	}
	host := pu.Host
	return AlerterFunc(func(ctx context.Context, a Alert) error {
		body, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("monitor: webhook %s: %w", host, err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("monitor: webhook %s: bad request", host)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // without the URL
			}
			return fmt.Errorf("monitor: webhook %s: %w", host, err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("monitor: webhook %s: %s: %s", host, resp.Status, snippet(msg))
		}
		return nil
	}), nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "?"))
	if len(s) > 256 {
		s = s[:256] + "..."
	}
	return strconv.Quote(s)
}

// enqueue queues an alert for delivery, or counts it dropped when the
// queue is full (an alerter that hangs).
func (mo *Monitor) enqueue(ctx context.Context, a Alert) {
	if mo.opts.Alerter == nil {
		return
	}
	select {
	case mo.alerts <- a:
	default:
		mo.mu.Lock()
		mo.dropped++
		n := mo.dropped
		mo.mu.Unlock()
		mo.log.WarnContext(ctx, "monitor: alert queue full, alert dropped", "ip", a.IP, "state", a.State, "dropped", n)
	}
}

// deliver tells the alerter of queued alerts, one at a time, until ctx is
// done. Each delivery is recorded as package "monitor", action "alert".
func (mo *Monitor) deliver(ctx context.Context) {
	for {
		var a Alert
		select {
		case <-ctx.Done():
			return
		case a = <-mo.alerts:
		}
		actx, cancel := context.WithTimeout(ctx, mo.opts.AlertTimeout)
		err := mo.opts.Alerter.Alert(actx, a)
		cancel()
		fields := map[string]any{"state": string(a.State)}
		if err != nil {
			fields["error"] = err.Error()
			mo.log.WarnContext(ctx, "monitor: alert", "ip", a.IP, "state", a.State, "err", err)
		}
		audit.Record(ctx, mo.opts.Recorder, audit.Event{
			Package: "monitor", Action: "alert", IP: a.IP, MAC: a.MAC, Hostname: a.Hostname, Fields: fields,
		})
	}
}
