package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt/amttest"
	"github.com/pxelator/pxelator/drac/dractest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// powerctlRun runs the command in-process and returns its exit status
// and output.
func powerctlRun(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctxT(t), args, &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

// TestDRAC drives a Redfish emulator over TLS: powerctl refuses its
// self-signed certificate unless told, then switches it.
func TestDRAC(t *testing.T) {
	bmc := dractest.New("root", "calvin")
	srv := dractest.NewTLSServer(bmc)
	defer srv.Close()
	env := map[string]string{"DRAC_USER": "root", "DRAC_PASSWORD": "calvin"}
	if code, _, errOut := powerctlRun(t, env, "-drac", srv.URL, "status"); code != 1 || strings.Contains(errOut, "calvin") {
		t.Errorf("status with an unverified certificate: exit %d, %q; want a refusal without the password", code, errOut)
	}
	flags := []string{"-drac", srv.URL, "-insecure"}
	bmc.SetPower(pxelator.PowerOff)
	for _, s := range []struct {
		cmd   string
		state pxelator.PowerState
	}{{"status", pxelator.PowerOff}, {"on", pxelator.PowerOn}, {"on", pxelator.PowerOn}, {"cycle", pxelator.PowerOn}, {"off", pxelator.PowerOff}} {
		code, out, errOut := powerctlRun(t, env, append(flags, s.cmd)...)
		if code != 0 || bmc.Power() != s.state {
			t.Fatalf("powerctl %s: exit %d, %q, stderr %q, emulator %v; want %v", s.cmd, code, out, errOut, bmc.Power(), s.state)
		}
		if strings.Contains(out+errOut, "calvin") {
			t.Fatalf("powerctl %s printed the password", s.cmd)
		}
		if n := bmc.Sessions(); n != 0 {
			t.Fatalf("powerctl %s left %d Redfish sessions open", s.cmd, n)
		}
	}
}

func TestAMT(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run("legacy="+strconv.FormatBool(legacy), func(t *testing.T) {
			srv := amttest.NewServer(amttest.Options{State: pxelator.PowerOff, QOP: "auth-int, auth"})
			defer srv.Close()
			env := map[string]string{"AMT_USER": srv.Username(), "AMT_PASSWORD": srv.Password()}
			flags := []string{"-amt", srv.URL}
			if legacy {
				flags = append(flags, "-legacy")
			}
			steps := []struct {
				cmd   string
				out   string
				state pxelator.PowerState
			}{
				{"status", "off\n", pxelator.PowerOff},
				{"on", "amt " + srv.URL + ": on: done\n", pxelator.PowerOn},
				{"on", "amt " + srv.URL + ": on: done\n", pxelator.PowerOn},
				{"status", "on\n", pxelator.PowerOn},
				{"cycle", "amt " + srv.URL + ": cycle: done\n", pxelator.PowerOn},
				{"reset", "amt " + srv.URL + ": reset: done\n", pxelator.PowerOn},
				{"off", "amt " + srv.URL + ": off: done\n", pxelator.PowerOff},
				{"status", "off\n", pxelator.PowerOff},
			}
			for _, s := range steps {
				code, out, errOut := powerctlRun(t, env, append(flags, s.cmd)...)
				if code != 0 || out != s.out || srv.State() != s.state {
					t.Fatalf("powerctl %s: exit %d, %q, stderr %q, emulator %v; want %q, %v", s.cmd, code, out, errOut, srv.State(), s.out, s.state)
				}
			}
			code, _, errOut := powerctlRun(t, env, append(flags, "cycle")...)
			if code != 1 || !strings.Contains(errOut, "powerctl: amt: ") {
				t.Errorf("cycle when off: exit %d, %q; want the device's refusal", code, errOut)
			}
			if legacy {
				code, _, errOut := powerctlRun(t, env, append(flags, "soft-off")...)
				if code != 1 || !strings.Contains(errOut, "unsupported") {
					t.Errorf("legacy soft-off: exit %d, %q; want unsupported", code, errOut)
				}
			} else {
				powerctlRun(t, env, append(flags, "on")...)
				if code, _, errOut := powerctlRun(t, env, append(flags, "soft-off")...); code != 0 || srv.State() != pxelator.PowerOff {
					t.Errorf("soft-off: exit %d, %q, emulator %v", code, errOut, srv.State())
				}
			}
		})
	}
}

func TestAMTCredentials(t *testing.T) {
	srv := amttest.NewServer(amttest.Options{Username: "operator", Password: "Tr0ub4dor&3"})
	defer srv.Close()

	// Flags win over the environment.
	env := map[string]string{"AMT_USER": "operator", "AMT_PASSWORD": "wrong-from-env"}
	code, out, errOut := powerctlRun(t, env, "-amt", srv.URL, "-password", srv.Password(), "status")
	if code != 0 || out != "on\n" {
		t.Fatalf("flags: exit %d, %q, %q", code, out, errOut)
	}
	// A wrong password is an error that names the user but not the password.
	code, out, errOut = powerctlRun(t, env, "-amt", srv.URL, "status")
	if code != 1 || !strings.Contains(errOut, "authentication failed") || !strings.Contains(errOut, `"operator"`) {
		t.Fatalf("wrong password: exit %d, %q, %q", code, out, errOut)
	}
	if strings.Contains(out+errOut, "wrong-from-env") || strings.Contains(out+errOut, srv.Password()) {
		t.Fatalf("output shows a password: %q %q", out, errOut)
	}
}

func TestAMTTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	code, _, errOut := powerctlRun(t, nil, "-amt", ln.Addr().String(), "-timeout", "300ms", "status")
	if code != 1 || !strings.Contains(errOut, "deadline exceeded") {
		t.Errorf("exit %d, %q; want a timeout", code, errOut)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestWOL(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
	code, out, errOut := powerctlRun(t, nil, "-wol", "00:11:22:33:44:55", "-broadcast", "127.0.0.1", "-port", port, "-secureon", "1.2.3.4", "on")
	if code != 0 || out != "wol 00:11:22:33:44:55: on: done\n" {
		t.Fatalf("exit %d, %q, %q", code, out, errOut)
	}
	buf := make([]byte, 1500)
	pc.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := "ffffffffffff" + strings.Repeat("001122334455", 16) + "01020304"
	if got := hex.EncodeToString(buf[:n]); got != want {
		t.Errorf("packet %s, want %s", got, want)
	}

	code, _, errOut = powerctlRun(t, nil, "-wol", "00:11:22:33:44:55", "status")
	if code != 1 || !strings.Contains(errOut, "unsupported") {
		t.Errorf("wol status: exit %d, %q; want unsupported", code, errOut)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no machine given"},
		{[]string{"-amt", "h", "-wol", "00:11:22:33:44:55", "on"}, "only one"},
		{[]string{"-amt", "h"}, "want one command"},
		{[]string{"-amt", "h", "explode"}, `unknown command "explode"`},
		{[]string{"-wol", "nonsense", "on"}, "not a MAC address"},
		{[]string{"-wol", "00:11:22:33:44:55", "-iface", "x", "-broadcast", "1.2.3.255", "on"}, "not both"},
		{[]string{"-wol", "00:11:22:33:44:55", "-broadcast", "::1", "on"}, "not an IPv4"},
		{[]string{"-wol", "00:11:22:33:44:55", "-secureon", "hunter2", "on"}, "SecureOn"},
		{[]string{"-amt", "ftp://x", "on"}, "scheme"},
	}
	for _, tt := range tests {
		code, _, errOut := powerctlRun(t, nil, tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("powerctl %q: exit %d, %q; want %q", tt.args, code, errOut, tt.want)
		}
		if strings.Contains(errOut, "hunter2") {
			t.Errorf("powerctl %q prints the SecureOn password", tt.args)
		}
	}
}
