// Package schedule switches machines on and off at planned times of day:
// a kiosk that turns on every morning at 07:30 and off at 20:30.
//
// # Attributes
//
// A schedule is a machine's attributes, one file each in a DirStore:
//
//	kiosk.on    07:30          switch on at this time of day (HH:MM, 24 hours)
//	kiosk.off   20:30          switch off at this time of day
//	kiosk.days  mon-fri        only on these days (default every day; "sat,sun", "mon-wed,fri", "fri-mon")
//	kiosk.tz    Europe/Zagreb  in this IANA time zone (default the server's)
//
// Either of kiosk.on and kiosk.off may be left out: a machine with only
// kiosk.off is switched off every evening and on by hand.
//
// # Groups
//
// A machine's own kiosk.on or kiosk.off wins. A machine that sets neither
// and has a group attribute follows its group's schedule: the kiosk.*
// attributes of the machine whose group.schedule attribute names the
// group. To put a hall of kiosks on one schedule, give one of them (any
// machine, in fact) the times and the others the group:
//
//	echo hall  > conf/10.0.0.1/10.0.0.11/group.schedule
//	echo 07:30 > conf/10.0.0.1/10.0.0.11/kiosk.on
//	echo 20:30 > conf/10.0.0.1/10.0.0.11/kiosk.off
//	for ip in 10.0.0.11 10.0.0.12 10.0.0.13; do echo hall > conf/10.0.0.1/$ip/group; done
//
// The schedule is taken as a whole (times, days and zone), never mixed
// from two machines. When two machines name the same group in
// group.schedule, the one with the lower IP address holds it and the other
// is reported. A change to any of these attributes, by hand, by git pull
// or by the web page, counts from the next pass of the scheduler, which
// [Scheduler.Run] makes every Tick and after every change of the store.
//
// # Planned times
//
// Each planned time is an instant: the time of day on a date in the
// schedule's zone ([PlannedAt]). On a day when daylight saving time
// starts, a time of day inside the skipped hour is planned as if the clock
// had not been changed yet (02:30 becomes 03:30); on the day it ends, a
// time of day that happens twice is planned once, at its first
// occurrence. So a DST day neither skips nor repeats an action, and a
// schedule at 07:30 acts at 07:30 local time on both sides of the change.
//
// # Safety across restarts and clock changes
//
// At each pass, the scheduler takes, for every machine, the latest planned
// time in the catch-up window (Options.CatchUp, default 30 minutes) or
// since its previous pass, whichever is longer, and acts on it unless it
// is done. Done planned times are kept in a state file (Options.State),
// one synced line each, so that:
//
//   - after a restart at 07:45, a missed 07:30 still switches the machine
//     on; after a restart at 08:30 it does not (outside the window);
//   - a restart never acts twice on one planned time;
//   - a clock that jumps forward (an NTP step) over a planned time acts on
//     it at once, and one that jumps back does not repeat it.
//
// When several planned times of one machine fall in that span (a long
// jump), only the latest counts: the machine ends up the way its schedule
// says it should be now. The window between an action and its line in the
// state file is the one moment a crash can repeat an action; the state
// reading below makes that repeat a no-op where the BMC can tell.
//
// # Actions
//
// The scheduler reads the power state first where the BMC can tell (AMT,
// DRAC) and does nothing when the machine is already there; otherwise it
// switches the machine through the [Power] that Options.Power returns for
// it (Wake-on-LAN can switch on but not off: an off-time of such a machine
// is recorded as unsupported). A failed action is retried with a backoff
// (Options.Attempts, Options.Backoff) while its planned time is still the
// latest and inside the window. Every decision is an audit event of
// package "schedule", action "on" or "off", with the machine's IP, MAC and
// host name and the fields planned (RFC 3339), outcome (switched, already,
// retry, failed, unsupported), attempt, late (seconds after the planned
// time), state (the power state read first), group and error; a schedule
// that cannot be parsed is an event of action "invalid", once per change.
//
// # Users
//
// [Scheduler.Plan] tells a web page a machine's schedule and its next
// on- and off-times; [Scheduler.ExpectedDown] tells a monitor that a
// machine switched off by its schedule is not to be alerted about.
package schedule
