package web

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
)

// FuzzQuery feeds query strings to the parsers of the overview and the
// audit search: they return a query within bounds or an error with a 4xx
// status, never a panic.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"", "q=kiosk&sort=-hostname&page=2&per=50", "sort=rtt", "sort=-", "per=1001", "page=-1", "q=%ZZ",
		"mode=count&by=ip,state&package=amt&since=24h", "mode=avg&field=rtt&by=ip&until=2026-01-02T15:04",
		"mode=events&where=file%3Dvmlinuz+outcome%3Dok&cursor=1764000000000000000/2026-11-24.07:00:00.dhcpd.x&limit=500",
		"since=2026-11-24T07:00:00Z&until=2026-11-24", "since=-90m", "since=9999999h", "by=a,b,c", "where=a=b=c",
		"mode=avg&field=ip&by=ip", "cursor=/", "limit=0x10",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if q, err := parseListQuery(v); err == nil {
			if q.Page < 1 || q.Per < 1 || q.Per > maxPer || !validSort(q.Sort) || len(q.Text) > maxParam {
				t.Errorf("%q: list query out of bounds: %+v", raw, q)
			}
		} else if s := statusOf(err); s < 400 || s > 499 {
			t.Errorf("%q: error %v with status %d", raw, err, s)
		}
		for _, mode := range []string{"", modeEvents, modeCount, modeAvg} {
			q, err := parseSearch(v, mode, now, time.UTC)
			if err != nil {
				if s := statusOf(err); s < 400 || s > 499 {
					t.Errorf("%q: error %v with status %d", raw, err, s)
				}
				continue
			}
			switch q.Mode {
			case modeEvents:
				if q.Limit < 1 || q.Limit > maxEvents {
					t.Errorf("%q: limit %d", raw, q.Limit)
				}
				if q.Cursor != "" {
					if _, err := audit.ParseCursor(q.Cursor); err != nil {
						t.Errorf("%q: cursor %q accepted: %v", raw, q.Cursor, err)
					}
				}
				for _, m := range q.Where {
					if audit.CheckField(m.field) != nil {
						t.Errorf("%q: where field %q accepted", raw, m.field)
					}
				}
			case modeCount:
				if (audit.CountQuery{By: q.By}).Validate() != nil {
					t.Errorf("%q: count by %q accepted", raw, q.By)
				}
			case modeAvg:
				if (audit.StatsQuery{Field: q.Field, By: q.By}).Validate() != nil {
					t.Errorf("%q: stats of %q by %q accepted", raw, q.Field, q.By)
				}
			default:
				t.Errorf("%q: mode %q", raw, q.Mode)
			}
			if !q.Filter.Since.IsZero() && !q.Filter.Until.IsZero() && !q.Filter.Since.Before(q.Filter.Until) {
				t.Errorf("%q: since %v not before until %v", raw, q.Filter.Since, q.Filter.Until)
			}
		}
	})
}

// FuzzProgress feeds audit entries of any shape, as JSON, to the boot
// progress: it never panics and always gives every step.
func FuzzProgress(f *testing.F) {
	f.Add(`[{"pkg":"dhcpd","action":"discover","fields":{"arch":"x"}},{"pkg":"dhcpd","action":"offer"},{"pkg":"dhcpd","action":"ack"},` +
		`{"pkg":"tftpd","action":"read","fields":{"file":"pxelinux.0","outcome":"ok"}},{"pkg":"boot","action":"http","fields":{"file":"vmlinuz","status":200}},` +
		`{"pkg":"syslogd","action":"log","fields":{"msg":"hi"}}]`)
	f.Add(`[{"pkg":"tftpd","action":"read","fields":{"file":{"a":1},"outcome":7}},{"pkg":"boot","action":"http","fields":{"status":"x","error":[1]}}]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, data string) {
		var raw []struct {
			Pkg    string         `json:"pkg"`
			Action string         `json:"action"`
			Fields map[string]any `json:"fields"`
		}
		if json.Unmarshal([]byte(data), &raw) != nil {
			return
		}
		start := time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)
		es := make([]entry, len(raw))
		for i, r := range raw {
			es[i] = entry{r.Pkg, audit.Entry{Time: start.Add(time.Duration(i) * time.Second), Action: r.Action, Fields: r.Fields}}
		}
		b := progress(start, es)
		if len(b.Steps) != 8 || b.Reached == "" {
			t.Fatalf("progress of %s: %+v", data, b)
		}
	})
}
