package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/audittest"
	"github.com/pxelator/pxelator/audit/sqlitestore"
)

func TestAuditq(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conf := t.TempDir()
	s, err := sqlitestore.Open(ctx, filepath.Join(conf, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Insert(ctx, audit.Merge(audittest.Events())); err != nil {
		t.Fatal(err)
	}
	s.Close()
	now := audittest.T0.Add(10 * time.Second)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-conf", conf, "last", "kiosk-01"}, `
TIME                    PACKAGE  ACTION  IP         MAC                HOSTNAME  ID
2026-11-24T10:00:06.5Z  dhcpd    renew   10.0.0.11  52:54:00:00:0a:01  kiosk-01  2026-11-24.10:00:06.dhcpd.10.0.0.11
`},
		{[]string{"-conf", conf, "count", "-by", "ip,power_state", "-package", "amt"}, `
IP         POWER_STATE  COUNT
10.0.0.21  off          1
10.0.0.21  on           3
10.0.0.21  sleep        1
10.0.0.22  off          2
10.0.0.22  on           1
`},
		{[]string{"-audit", "sqlite:" + filepath.Join(conf, "audit.db"), "avg", "rtt", "-by", "ip", "-package", "ping"}, `
IP         COUNT  SUM  AVG
10.0.0.31  4      11   2.75
10.0.0.32  3      60   20
`},
		{[]string{"-conf", conf, "events", "-machine", "10.0.0.32", "-since", "10s", "-limit", "1"}, `
TIME                    PACKAGE  ACTION  IP         MAC  HOSTNAME  FIELDS
2026-11-24T10:00:01.2Z  ping     reply   10.0.0.32  -    -         {"rtt":20}
2026-11-24T10:00:01.3Z  ping     reply   10.0.0.32  -    -         {"rtt":30}
more: -cursor 1795514401200000000/2026-11-24.10:00:01.ping.10.0.0.32
`},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := run(ctx, tt.args, &out, now); err != nil {
			t.Errorf("auditq %q: %v", tt.args, err)
			continue
		}
		if got, want := out.String(), strings.TrimPrefix(tt.want, "\n"); got != want {
			t.Errorf("auditq %q:\n%s\nwant\n%s", tt.args, got, want)
		}
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"-json", "-conf", conf, "avg", "rtt", "-by", "ip", "-package", "ping"}, &out, now); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 2 || rows[0]["avg"] != 2.75 || rows[1]["ip"] != "10.0.0.32" {
		t.Errorf("-json avg: %v, %s", err, out.String())
	}

	for _, args := range [][]string{
		{},
		{"-conf", conf, "frobnicate"},
		{"-conf", conf, "last"},
		{"-conf", conf, "last", "nobody"},
		{"-conf", conf, "count"},
		{"-conf", conf, "count", "-by", "a,b,c"},
		{"-conf", conf, "avg", "ip", "-by", "ip"},
		{"-conf", conf, "events", "-since", "yesterday"},
		{"-conf", t.TempDir(), "last", "kiosk-01"},
		{"-audit", "redis://x", "last", "kiosk-01"},
		{"-conf", conf, "events", "-cursor", "nonsense"},
	} {
		if err := run(ctx, args, &out, now); err == nil {
			t.Errorf("auditq %q: no error", args)
		}
	}
}
