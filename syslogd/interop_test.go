package syslogd_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pxelator/pxelator/syslogd"
)

func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s): %v", name, map[string]string{"logger": "bsdutils", "rsyslogd": "rsyslog"}[name], err)
	}
	return p
}

// TestLogger drives util-linux logger over UDP and TCP, in both formats
// and both TCP framings.
func TestLogger(t *testing.T) {
	logger := lookTool(t, "logger")
	ts, rec := startServer(t, &syslogd.Server{Store: kioskStore(t)})
	ctx := testContext(t)
	tests := []struct {
		args   []string
		net    string
		format syslogd.Format
	}{
		{[]string{"--udp", "--rfc3164"}, "udp", syslogd.FormatRFC3164},
		{[]string{"--udp", "--rfc5424"}, "udp", syslogd.FormatRFC5424},
		{[]string{"--tcp", "--rfc3164"}, "tcp", syslogd.FormatRFC3164},
		{[]string{"--tcp", "--rfc5424"}, "tcp", syslogd.FormatRFC5424},
		{[]string{"--tcp", "--rfc3164", "--octet-count"}, "tcp", syslogd.FormatRFC3164},
		{[]string{"--tcp", "--rfc5424", "--octet-count"}, "tcp", syslogd.FormatRFC5424},
	}
	for i, tt := range tests {
		name := strings.Join(tt.args, " ")
		port := ts.UDPAddr.Port()
		if tt.net == "tcp" {
			port = ts.TCPAddr.Port()
		}
		text := fmt.Sprintf("hello %d from logger %s", i, name)
		args := append([]string{"-n", "127.0.0.1", "-P", fmt.Sprint(port), "-p", "daemon.warning", "-t", "kiosk-app"}, tt.args...)
		cmd := exec.CommandContext(ctx, logger, append(args, text)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("logger %s: %v\n%s", name, err, out)
		}
		msgs, err := rec.Wait(ctx, i+1)
		if err != nil {
			t.Fatalf("logger %s: %v", name, err)
		}
		m := msgs[i]
		if m.Err != nil || m.Text != text || m.AppName != "kiosk-app" || m.Format != tt.format || m.Network != tt.net ||
			m.FacilityName() != "daemon" || m.SeverityName() != "warning" {
			t.Errorf("logger %s: got %v %s %s.%s app %q text %q err %v", name, m.Format, m.Network,
				m.FacilityName(), m.SeverityName(), m.AppName, m.Text, m.Err)
		}
		if m.Machine == nil || m.Machine.Hostname != "kiosk-01" {
			t.Errorf("logger %s: machine %v, want kiosk-01", name, m.Machine)
		}
		if tt.format == syslogd.FormatRFC5424 && m.StructuredData["timeQuality"] == nil {
			t.Errorf("logger %s: structured data %v lacks timeQuality", name, m.StructuredData)
		}
	}
}

// TestRsyslogForwarding has rsyslog read lines from a file (imfile) and
// forward each to us three ways: TCP with octet counting in RFC 5424,
// TCP with newlines in the traditional format, and UDP.
func TestRsyslogForwarding(t *testing.T) {
	rsyslogd := lookTool(t, "rsyslogd")
	ts, rec := startServer(t, &syslogd.Server{Store: kioskStore(t)})
	ctx := testContext(t)
	dir := t.TempDir()
	const n = 50
	var lines strings.Builder
	for i := range n {
		fmt.Fprintf(&lines, "line %d from the boot log\n", i)
	}
	input := filepath.Join(dir, "input.log")
	if err := os.WriteFile(input, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "rsyslog.conf")
	cfg := fmt.Sprintf(`global(workDirectory=%[1]q)
module(load="imfile" mode="polling" PollingInterval="1")
input(type="imfile" File=%[2]q Tag="kiosk-app:" Facility="local3" Severity="notice")
action(type="omfwd" target="127.0.0.1" port="%[3]d" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
action(type="omfwd" target="127.0.0.1" port="%[3]d" protocol="tcp" template="RSYSLOG_ForwardFormat")
action(type="omfwd" target="127.0.0.1" port="%[4]d" protocol="udp" template="RSYSLOG_TraditionalForwardFormat")
`, dir, input, ts.TCPAddr.Port(), ts.UDPAddr.Port())
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, rsyslogd, "-N1", "-f", conf).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1: %v\n%s", err, out)
	}
	cmd := exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	}()
	// rsyslog also forwards its own messages ("rsyslogd: ... start"):
	// wait for ours, and look at ours only.
	var msgs []*syslogd.Message
	for want := 3 * n; len(msgs) < 3*n; {
		all, err := rec.Wait(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		msgs = msgs[:0]
		for _, m := range all {
			if m.AppName == "kiosk-app" || m.Err != nil {
				msgs = append(msgs, m)
			}
		}
		want = len(all) + 3*n - len(msgs)
	}
	type key struct {
		net    string
		format syslogd.Format
		text   string
	}
	got := map[key]int{}
	for _, m := range msgs {
		if m.Err != nil || m.AppName != "kiosk-app" || m.FacilityName() != "local3" || m.SeverityName() != "notice" ||
			m.Machine == nil || m.Machine.Hostname != "kiosk-01" {
			t.Errorf("message %s %v: app %q %s.%s machine %v err %v raw %q", m.Network, m.Format, m.AppName,
				m.FacilityName(), m.SeverityName(), m.Machine, m.Err, m.Raw)
		}
		got[key{m.Network, m.Format, strings.TrimSpace(m.Text)}]++
	}
	for i := range n {
		text := fmt.Sprintf("line %d from the boot log", i)
		for _, k := range []key{{"tcp", syslogd.FormatRFC5424, text}, {"tcp", syslogd.FormatRFC3164, text}, {"udp", syslogd.FormatRFC3164, text}} {
			if got[k] != 1 {
				t.Errorf("%+v received %d times, want once", k, got[k])
			}
		}
	}
}
