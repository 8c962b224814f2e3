package main

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"

	"github.com/pxelator/pxelator/dhcpd/dhcptest"
	"github.com/pxelator/pxelator/internal/netnstest"
	"github.com/pxelator/pxelator/internal/syncbuf"
)

// TestDHCPStormNetns runs the reference server with its default flags
// (but the addresses a namespace needs) in a network namespace and plays
// an attacker on its segment, from a client namespace joined by a veth
// pair (issue 14):
//   - an INIT-REBOOT from a client it does not know gets no answer, nor
//     do relayed packets from an address that is not a configured relay,
//     nor a real udhcpc on another interface of the server's host;
//   - DISCOVERs from 10 times the default pool's size in random MACs
//     write nothing, while a real udhcpc beside them gets an address.
func TestDHCPStormNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server in network namespaces")
	}
	netnstest.Need(t)
	if _, err := exec.LookPath("udhcpc"); err != nil {
		t.Skip("udhcpc not installed (Debian: udhcpc)")
	}
	bin := buildServer(t)
	srv, cli, other := netnstest.New(t, "pxst-s"), netnstest.New(t, "pxst-c"), netnstest.New(t, "pxst-o")
	netnstest.Veth(t, srv, "st-srv", cli, "st-cli")
	srv.IP(t, "addr", "add", "10.79.0.1/24", "dev", "st-srv")
	// The forged packets go out from a socket, which needs an address;
	// udhcpc speaks through a raw socket and does not mind it.
	cli.IP(t, "addr", "add", "10.79.0.2/24", "dev", "st-cli")
	const realMAC = "52:54:00:79:00:02"
	cli.IP(t, "link", "set", "dev", "st-cli", "address", realMAC)
	// A second network of the server's host, where it must not answer.
	netnstest.Veth(t, srv, "st-oth", other, "st-othc")
	srv.IP(t, "addr", "add", "10.80.0.1/24", "dev", "st-oth")

	var conn *net.UDPConn
	cli.Do(t, func() (err error) {
		conn, err = server4.NewIPv4UDPConn("st-cli", &net.UDPAddr{Port: dhcpv4.ClientPort})
		return err
	})
	c := dhcptest.NewBroadcastClient(conn, nil)
	defer c.Close()
	c.Retry = 20 * time.Second // nothing is lost on a veth: no retransmission to count

	t.Run("silence", func(t *testing.T) {
		s := startInNetns(t, srv, bin)
		if !strings.Contains(s.out.String(), "DHCP on interface st-srv") {
			t.Errorf("DHCP does not serve the interface of -server-ip only:\n%s", s.out.String())
		}
		for _, p := range []*dhcpv4.DHCPv4{
			request(t, c, randomMAC(t), dhcpv4.MessageTypeRequest, dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(net.IPv4(10, 79, 0, 77)))),
			request(t, c, randomMAC(t), dhcpv4.MessageTypeDiscover, dhcpv4.WithGatewayIP(net.IPv4(10, 99, 0, 1))),
		} {
			for range 3 {
				if err := c.SendBytes(p.ToBytes()); err != nil {
					t.Fatal(err)
				}
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if out, err := other.Command(ctx, "udhcpc", "-i", "st-othc", "-n", "-q", "-f", "-t", "2", "-T", "1", "-s", "/bin/true").CombinedOutput(); err == nil {
			t.Errorf("udhcpc on another interface of the server's host got a lease:\n%s", out)
		}
		// One exchange the server must answer, after the others.
		c.MAC = randomMAC(t)
		if _, ack, err := c.DORA(ctx); err != nil {
			t.Fatal(err)
		} else if ack.YourIPAddr.String() != "10.79.0.100" {
			t.Errorf("a real exchange got %v, want 10.79.0.100", ack.YourIPAddr)
		}
		st := s.stop(t)
		want := map[string]string{"received": "8", "replies": "2", "naks": "0", "silent": "3", "bad_relays": "3", "new_machines": "1"}
		for k, v := range want {
			if st[k] != v {
				t.Errorf("server's %s = %q, want %s (stop line %v)", k, st[k], v, st)
			}
		}
		if got := machineMACs(t, s.conf); len(got) != 1 || got[0] != c.MAC.String() {
			t.Errorf("machines on disk %v, want only %v", got, c.MAC)
		}
	})

	t.Run("storm", func(t *testing.T) {
		s := startInNetns(t, srv, bin)
		const storm = 10 * 151 // 10 times the default pool, .100-.250
		sent := make(chan error, 1)
		go func() {
			for range storm {
				p := request(t, c, randomMAC(t), dhcpv4.MessageTypeDiscover)
				if err := c.SendBytes(p.ToBytes()); err != nil {
					sent <- err
					return
				}
				time.Sleep(time.Millisecond) // about 1,000/s: the storm lasts while udhcpc asks
			}
			sent <- nil
		}()
		got := udhcpc(t, cli, "st-cli")
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		if ip := net.ParseIP(got); ip == nil || ip.To4()[2] != 0 || ip.To4()[3] < 100 || ip.To4()[3] > 250 {
			t.Fatalf("udhcpc during a storm of %d random MACs got %q, want an address of 10.79.0.100-250", storm, got)
		}
		st := s.stop(t)
		if n, _ := strconv.Atoi(st["received"]); n < storm || st["new_machines"] != "1" {
			t.Errorf("server's stop line %v, want %d received at least and 1 new machine", st, storm)
		}
		if ms := machineMACs(t, s.conf); len(ms) != 1 || ms[0] != realMAC {
			t.Errorf("machines on disk after the storm: %v, want udhcpc's %s only", ms, realMAC)
		}
	})
}

// nsServer is the reference server running in a namespace.
type nsServer struct {
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	conf string
	done chan struct{}
}

// startInNetns starts bin in ns with its default flags but -server-ip
// and fresh directories, and waits for its start-up lines. It is killed
// when the test ends, if still running.
func startInNetns(t *testing.T, ns *netnstest.Namespace, bin string) *nsServer {
	t.Helper()
	dir := t.TempDir()
	s := &nsServer{out: &syncbuf.Buffer{}, conf: filepath.Join(dir, "conf"), done: make(chan struct{})}
	s.cmd = ns.Command(context.Background(), bin, "-server-ip", "10.79.0.1", "-conf", s.conf, "-state", filepath.Join(dir, "state"),
		"-root", filepath.Join(dir, "tftpboot"), "-profiles", filepath.Join(dir, "profiles"))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("server output:\n%s", s.out.String())
		}
	})
	for deadline := time.Now().Add(time.Minute); !strings.Contains(s.out.String(), "pxelator: listening:"); time.Sleep(20 * time.Millisecond) {
		select {
		case <-s.done:
			t.Fatalf("the server exited:\n%s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no start-up lines in a minute:\n%s", s.out.String())
		}
	}
	return s
}

// stop stops the server with SIGTERM and returns the fields of its
// "dhcp: stopped" line, which counts what the DHCP service did once every
// packet is handled.
func (s *nsServer) stop(t *testing.T) map[string]string {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(time.Minute):
		t.Fatalf("no exit a minute after SIGTERM:\n%s", s.out.String())
	}
	for _, line := range strings.Split(s.out.String(), "\n") {
		if strings.Contains(line, `msg="dhcp: stopped"`) {
			st := map[string]string{}
			for _, m := range regexp.MustCompile(`(\w+)=(\S+)`).FindAllStringSubmatch(line, -1) {
				st[m[1]] = m[2]
			}
			return st
		}
	}
	t.Fatalf("no dhcp: stopped line:\n%s", s.out.String())
	return nil
}

// machineMACs returns the MACs of the machines on disk under conf.
func machineMACs(t *testing.T, conf string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(conf, "10.79.0.1", "*", "mac"))
	if err != nil {
		t.Fatal(err)
	}
	var macs []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		macs = append(macs, strings.TrimSpace(string(b)))
	}
	return macs
}

// request builds a request of type typ from mac through c.
func request(t *testing.T, c *dhcptest.Client, mac net.HardwareAddr, typ dhcpv4.MessageType, mods ...dhcpv4.Modifier) *dhcpv4.DHCPv4 {
	p, err := c.New(typ, append([]dhcpv4.Modifier{dhcpv4.WithHwAddr(mac)}, mods...)...)
	if err != nil {
		t.Error(err)
	}
	return p
}

// randomMAC returns a random unicast, locally administered MAC.
func randomMAC(t *testing.T) net.HardwareAddr {
	mac := make(net.HardwareAddr, 6)
	rand.Read(mac)
	mac[0] = mac[0]&^1 | 2
	return mac
}

// udhcpc runs busybox udhcpc once on iface in ns, asking for up to 20 s,
// and returns the address it was bound to ("" when none).
func udhcpc(t *testing.T, ns *netnstest.Namespace, iface string) string {
	t.Helper()
	dir := t.TempDir()
	env, script := filepath.Join(dir, "env"), filepath.Join(dir, "script")
	sh := "#!/bin/sh\nif [ \"$1\" = bound ]; then env > " + env + "; fi\nexit 0\n"
	if err := os.WriteFile(script, []byte(sh), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := ns.Command(ctx, "udhcpc", "-i", iface, "-n", "-q", "-f", "-t", "20", "-T", "1", "-s", script).CombinedOutput()
	b, rerr := os.ReadFile(env)
	if err != nil || rerr != nil {
		t.Logf("udhcpc: %v\n%s", err, out)
		return ""
	}
	m := regexp.MustCompile(`(?m)^ip=(.*)$`).FindStringSubmatch(string(b))
	if m == nil {
		return ""
	}
	return strings.TrimSpace(m[1])
}
