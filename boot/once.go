package boot

import (
	"context"
	"fmt"
	"time"

	"github.com/pxelator/pxelator"
)

// Profiles that Files treats in a way of their own.
const (
	// ProfileDefault is the profile of a machine that names none, or
	// whose profile has no boot.ipxe: its boot.ipxe chains to what the
	// boot root holds (pxelinux.0 for BIOS when a pxelinux configuration
	// is there for the machine, GRUB for UEFI when grub.cfg is), and
	// otherwise shows a menu of the profiles; its pxelinux.cfg answers
	// pxelinux.cfg/default when the root has none.
	ProfileDefault = "default"
	// ProfileOnce boots a machine one time from the network into the
	// profile its attribute once.profile names, then from its local disk.
	// At the first request of one of its configurations, Files writes
	// the switch to the store: the machine's profile becomes "local" and
	// its attribute once.booted the time of the switch (RFC 3339).
	//
	// One boot is every request within once.window (a Go duration,
	// default [DefaultOnceWindow]) of the switch: a DHCP retry, iPXE's
	// second DHCP and fetch of its script, pxelinux asking for its
	// configuration after iPXE asked for the script, all get the
	// once.profile still. A request after the window, that is the next
	// boot, gets "local". A machine of profile once without a valid
	// once.profile is not switched: it gets the once profile's own
	// templates, which say so and boot the local disk.
	ProfileOnce = "once"
	// ProfileLocal boots the local disk.
	ProfileLocal = "local"
)

// Attributes of a machine of profile "once".
const (
	AttrOnceProfile = "once.profile" // the profile booted once
	AttrOnceBooted  = "once.booted"  // written by Files: when the machine was switched to local
	AttrOnceWindow  = "once.window"  // how long one boot lasts, e.g. "2m"
)

// DefaultOnceWindow is how long after the switch of a once machine its
// requests still count as the same boot, when once.window is not set.
const DefaultOnceWindow = 2 * time.Minute

// once returns the profile machine m boots now, switching a machine of
// profile once to local in the store (and in *m).
func (f *Files) once(ctx context.Context, m *pxelator.Machine) (string, error) {
	target := m.Get(AttrOnceProfile)
	if !ValidProfile(target) || target == ProfileOnce {
		target = ""
	}
	switch {
	case m.Profile == ProfileOnce && target != "":
		now := f.now()
		switched := m.Clone()
		switched.Profile = ProfileLocal
		switched.Set(AttrOnceBooted, now.UTC().Format(time.RFC3339))
		if err := f.Store.Put(ctx, switched); err != nil {
			return "", fmt.Errorf("boot: switching once machine %v to local: %w", m.MAC, err)
		}
		f.logger().Info("boot: once: booting the once profile this time, the local disk after", "mac", m.MAC.String(),
			"ip", m.IP, "hostname", m.Hostname, "profile", target, "window", onceWindow(*m))
		*m = switched
		return target, nil
	case m.Profile == ProfileLocal && target != "":
		booted, err := time.Parse(time.RFC3339, m.Get(AttrOnceBooted))
		if err == nil && f.now().Before(booted.Add(onceWindow(*m))) {
			return target, nil // the same boot
		}
	}
	return m.Profile, nil
}

// onceWindow returns the machine's once.window, or DefaultOnceWindow when
// it is not set or not a positive duration.
func onceWindow(m pxelator.Machine) time.Duration {
	d, err := time.ParseDuration(m.Get(AttrOnceWindow))
	if err != nil || d <= 0 {
		return DefaultOnceWindow
	}
	return d
}
