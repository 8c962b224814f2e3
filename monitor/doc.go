// Package monitor pings every machine of a store at an interval, tells
// which are up and which are down, and alerts when one goes down.
//
// A [Monitor] sends ICMP echo requests through one socket ([Listen]: an
// unprivileged datagram socket where net.ipv4.ping_group_range allows the
// process's group, a raw socket, which needs CAP_NET_RAW, otherwise) and
// reads the replies on one goroutine, whatever the number of machines.
// The pings of a round are spread evenly over the interval (the sender
// wakes every 10 ms at most and sends those due), and at most
// Options.MaxInFlight wait for their reply at once: 10,000 machines at
// 10 seconds make a thousand pings a second, not 10,000 goroutines.
// Replies are matched to their ping by a random token, the machine and
// the ping's number in the payload, so that a late, duplicated or foreign
// reply is not counted.
//
// # States and alerts
//
// A machine is [Unknown] until it answers ([Up]) or misses
// Options.DownAfter pings in a row ([Down]); it is up again at its next
// reply. Each change is an audit event of package "monitor" (actions "up"
// and "down", fields from, misses, expected) and a log line. A change to
// down calls the [Alerter] (a shell command with [Command], a webhook
// with [Webhook], both with [Alerters]) once, and the change back to up
// once more; nothing is repeated while the state holds. A machine that
// the [Expecter] (a schedule.Scheduler) expects down goes down without an
// alert; if it stays down once it is no longer expected to (its on-time
// and boot grace passed), it is alerted after DownAfter more misses.
//
// # Audit and trends
//
// Every reply is an audit event of package "ping", action "reply", with
// the machine's IP, MAC and host name and the field rtt, the round-trip
// time in milliseconds, so that the average round trip per IP address is
//
//	auditq -package ping avg rtt -by ip
//
// A machine whose attribute ping is "off" is not pinged.
//
// # Status
//
// [Monitor.Status] and [Monitor.Statuses] tell a web page each machine's
// state, since when, whether it is expected down, and its last round
// trip and reply. The package monitortest has a fake network for tests.
package monitor
