package wol_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/pxelator/pxelator/wol"
)

// TestSameAsWakeonlan sends the magic packet with Debian's wakeonlan and
// with a Client to a loopback listener: both must equal the vector.
func TestSameAsWakeonlan(t *testing.T) {
	if _, err := exec.LookPath("wakeonlan"); err != nil {
		t.Skip("wakeonlan not installed (Debian package wakeonlan)")
	}
	want := vector(t)
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	receive := func() []byte {
		t.Helper()
		buf := make([]byte, 1500)
		pc.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "wakeonlan", "-i", "127.0.0.1", "-p", strconv.Itoa(port), target.String()).CombinedOutput(); err != nil {
		t.Fatalf("wakeonlan: %v\n%s", err, out)
	}
	if got := receive(); !bytes.Equal(got, want) {
		t.Errorf("wakeonlan sent %x, vector is %x", got, want)
	}

	c := &wol.Client{MAC: target, Broadcast: netip.MustParseAddr("127.0.0.1"), Port: port}
	if err := c.Wake(ctx); err != nil {
		t.Fatal(err)
	}
	if got := receive(); !bytes.Equal(got, want) {
		t.Errorf("Client sent %x, vector is %x", got, want)
	}
}
