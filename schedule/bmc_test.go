package schedule_test

import (
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/amt"
	"github.com/pxelator/pxelator/amt/amttest"
	"github.com/pxelator/pxelator/drac"
	"github.com/pxelator/pxelator/drac/dractest"
	"github.com/pxelator/pxelator/power"
	"github.com/pxelator/pxelator/schedule"
)

// TestRealBackends runs a day of a kiosk schedule with a fake clock
// against the AMT and iDRAC emulators and a Wake-on-LAN listener on
// loopback, through the power package, with a restart at 07:45.
func TestRealBackends(t *testing.T) {
	amtOff := amttest.NewServer(amttest.Options{State: pxelator.PowerOff})
	defer amtOff.Close()
	amtOn := amttest.NewServer(amttest.Options{State: pxelator.PowerOn})
	defer amtOn.Close()
	card := dractest.New("root", "calvin")
	card.SetPower(pxelator.PowerOff)
	dracSrv := dractest.NewTLSServer(card)
	defer dracSrv.Close()
	magic, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer magic.Close()
	packets := make(chan string, 16)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := magic.ReadFrom(buf)
			if err != nil {
				return
			}
			packets <- hex.EncodeToString(buf[:n])
		}
	}()

	var r *rig
	r = newRig(t, zagreb, "2026-11-27", func(o *schedule.Options) {
		o.Power = func(m pxelator.Machine) (schedule.Power, error) {
			return power.For(m, power.Config{InsecureSkipVerify: true, Recorder: r.rec, Logger: discardLogger()})
		}
	})
	times := []string{schedule.AttrOn, "07:30", schedule.AttrOff, "20:30"}
	r.put(1, append(times, amt.AttrAddress, amtOff.URL, amt.AttrUsername, amtOff.Username(), amt.AttrPassword, amtOff.Password())...)
	r.put(2, append(times, amt.AttrAddress, amtOn.URL, amt.AttrUsername, amtOn.Username(), amt.AttrPassword, amtOn.Password())...)
	r.put(3, append(times, drac.AttrAddress, dracSrv.URL, drac.AttrUsername, "root", drac.AttrPassword, "calvin")...)
	port := strconv.Itoa(magic.LocalAddr().(*net.UDPAddr).Port)
	r.put(4, append(times, power.AttrWoLBroadcast, "127.0.0.1", power.AttrWoLPort, port)...)

	r.at("2026-11-27 07:00")
	r.walk(r.time("2026-11-27 07:45"), time.Minute, nil)
	if amtOff.State() != pxelator.PowerOn || card.Power() != pxelator.PowerOn {
		t.Fatalf("at 07:45: AMT %v, iDRAC %v; want both on", amtOff.State(), card.Power())
	}
	select {
	case p := <-packets:
		if want := "ffffffffffff" + strings.Repeat("525400000004", 16); p != want {
			t.Errorf("magic packet %s, want %s", p, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no magic packet by 07:45")
	}
	r.restart()
	r.walk(r.time("2026-11-27 21:00"), time.Minute, nil)

	equal(t, "AMT changes (CIM states)", amtOff.Changes(), []int{amt.CIMOn, amt.CIMOff})
	equal(t, "changes of the AMT machine already on", amtOn.Changes(), []int{amt.CIMOff})
	equal(t, "iDRAC actions", card.Actions(), []string{drac.ResetOn, drac.ResetForceOff})
	if n := card.Sessions(); n != 0 {
		t.Errorf("%d Redfish sessions left open", n)
	}
	select {
	case p := <-packets:
		t.Errorf("a second magic packet: %s", p)
	default:
	}
	equal(t, "outcomes of the AMT machine", append(r.outcomes(1, schedule.On), r.outcomes(1, schedule.Off)...), []string{"switched", "switched"})
	equal(t, "outcomes of the AMT machine already on", append(r.outcomes(2, schedule.On), r.outcomes(2, schedule.Off)...), []string{"already", "switched"})
	equal(t, "outcomes of the iDRAC machine", append(r.outcomes(3, schedule.On), r.outcomes(3, schedule.Off)...), []string{"switched", "switched"})
	equal(t, "outcomes of the Wake-on-LAN machine", append(r.outcomes(4, schedule.On), r.outcomes(4, schedule.Off)...), []string{"switched", "unsupported"})
	// The power packages record their own side of it.
	if evs := r.rec.Find("amt", "power_on"); len(evs) != 1 || evs[0].MAC.String() != mac(1).String() {
		t.Errorf("amt power_on events: %+v", evs)
	}
	if evs := r.rec.Find("wol", "wake"); len(evs) != 1 {
		t.Errorf("%d wol events, want 1", len(evs))
	}
}
