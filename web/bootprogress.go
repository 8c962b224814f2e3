package web

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// BootProgress is the steps of a machine's last boot as the audit tells
// them: the DHCP exchange (package dhcpd), the boot file, the iPXE
// script or pxelinux/GRUB configuration, the kernel and the initrd (TFTP
// reads of package tftpd, HTTP requests of package boot) and the first
// syslog line of the booted system (package syslogd).
//
// The last boot starts at the DISCOVER after which the machine sent no
// other DISCOVER for more than three minutes (a PXE ROM, then iPXE, then
// the booted system each ask for an address). Each step is the first of
// its kind after the step before it; kernel and initrd are recognised by
// their file names (vmlinuz, linux, bzImage, kernel; initrd, initramfs).
type BootProgress struct {
	Start time.Time  `json:"start"`
	Steps []BootStep `json:"steps"`
	// Reached is the name of the last step reached.
	Reached string `json:"reached"`
	// Done reports that every step was reached.
	Done bool `json:"done"`
}

// BootStep is one step of a boot.
type BootStep struct {
	Name   string    `json:"name"`          // one of the Step constants
	Time   time.Time `json:"time,omitzero"` // zero when the step was not reached
	Detail string    `json:"detail,omitempty"`
	// Failed reports that the step was tried and failed (a NAK, a file
	// that could not be read); Detail says how.
	Failed bool `json:"failed,omitempty"`
}

// Boot steps, in order.
const (
	StepDiscover = "discover" // DHCP DISCOVER (or a BOOTP request)
	StepOffer    = "offer"    // DHCP OFFER (or a BOOTP reply)
	StepAck      = "ack"      // DHCP ACK
	StepBootFile = "boot file"
	StepConfig   = "config" // iPXE script, pxelinux or GRUB configuration
	StepKernel   = "kernel"
	StepInitrd   = "initrd"
	StepSyslog   = "syslog" // the first syslog line of the booted system
)

// bootGap separates two boots: DISCOVERs closer than this belong to one.
const bootGap = 3 * time.Minute

// entry is one audit entry with its document's package.
type entry struct {
	pkg string
	audit.Entry
}

// bootProgress returns the steps of m's last boot, or nil when the audit
// holds no DHCP request of m.
func (h *Handler) bootProgress(ctx context.Context, m pxelator.Machine) (*BootProgress, error) {
	dhcp, err := h.Audit.Events(ctx, audit.EventsQuery{
		Filter: audit.Filter{Package: "dhcpd", Machine: m.MAC.String()}, Limit: 50,
	})
	if err != nil {
		return nil, err
	}
	var starts []time.Time
	for _, d := range dhcp.Documents {
		for _, e := range d.Entries {
			if e.Action == "discover" || e.Action == "bootrequest" {
				starts = append(starts, e.Time)
			}
		}
	}
	if len(starts) == 0 {
		return nil, nil
	}
	slices.SortFunc(starts, func(a, b time.Time) int { return b.Compare(a) })
	start := starts[0]
	for _, t := range starts[1:] {
		if start.Sub(t) > bootGap {
			break
		}
		start = t
	}
	// The documents of the boot: a document starts at the latest one
	// second before its first entry.
	q := audit.EventsQuery{Filter: audit.Filter{Since: start.Add(-time.Second)}, Limit: 1000}
	var entries []entry
	for range 5 {
		p, err := h.machineEvents(ctx, m, q)
		if err != nil {
			return nil, err
		}
		for _, d := range p.Documents {
			for _, e := range d.Entries {
				if !e.Time.Before(start) {
					entries = append(entries, entry{d.Package, e})
				}
			}
		}
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
	}
	slices.SortStableFunc(entries, func(a, b entry) int { return a.Time.Compare(b.Time) })
	return progress(start, entries), nil
}

// progress walks the entries of a boot, oldest first, step by step.
func progress(start time.Time, es []entry) *BootProgress {
	b := &BootProgress{Start: start}
	at := 0 // the entries from here on follow the last step found
	// step finds the first entry for which ok holds, before one for
	// which stop holds; failed tells a failed attempt at the step.
	step := func(name string, ok, stop func(entry) bool, failed func(entry) (string, bool), detail func(entry) string) {
		s := BootStep{Name: name}
		end := len(es)
		for i := at; i < len(es); i++ {
			if ok(es[i]) {
				s.Time, s.Detail = es[i].Time, detail(es[i])
				at = i + 1
				b.Reached = name
				b.Steps = append(b.Steps, s)
				return
			}
			if stop != nil && stop(es[i]) {
				end = i
				break
			}
		}
		if failed != nil {
			for i := at; i < end; i++ {
				if d, bad := failed(es[i]); bad {
					s.Failed, s.Detail = true, d
				}
			}
		}
		b.Steps = append(b.Steps, s)
	}
	dhcp := func(actions ...string) func(entry) bool {
		return func(e entry) bool { return e.pkg == "dhcpd" && slices.Contains(actions, e.Action) }
	}
	step(StepDiscover, dhcp("discover", "bootrequest"), nil, nil, func(e entry) string { return str(e.Fields["arch"]) })
	step(StepOffer, dhcp("offer", "bootreply"), nil, nil, func(e entry) string { return str(e.Fields["file"]) })
	step(StepAck, dhcp("ack", "bootreply"), nil, func(e entry) (string, bool) {
		return "NAK", e.pkg == "dhcpd" && e.Action == "nak"
	}, func(e entry) string { return str(e.Fields["file"]) })
	// The file steps, in order: a step is not looked for past a file of
	// a later step, so that a boot that skips one (iPXE asked for its
	// script at once) still finds the others. Kernel and initrd come in
	// either order: a server records a transfer when it ends.
	fileStep := func(k string, later ...string) {
		step(k, func(e entry) bool {
			name, ok := transfer(e)
			return ok && fileKind(name) == k
		}, func(e entry) bool {
			name, ok := transfer(e)
			return ok && slices.Contains(later, fileKind(name))
		}, func(e entry) (string, bool) {
			name, ok := transfer(e)
			if ok || name == "" || fileKind(name) != k {
				return "", false
			}
			return transferDetail(e) + ": " + failure(e), true
		}, transferDetail)
	}
	fileStep(StepBootFile, StepConfig, StepKernel, StepInitrd)
	fileStep(StepConfig, StepKernel, StepInitrd)
	from := at
	fileStep(StepKernel)
	afterKernel := at
	at = from
	fileStep(StepInitrd)
	at = max(at, afterKernel)
	step(StepSyslog, func(e entry) bool { return e.pkg == "syslogd" }, nil, nil, func(e entry) string {
		return clip(str(e.Fields["msg"]), 120)
	})
	last := b.Steps[len(b.Steps)-1]
	b.Done = !last.Time.IsZero()
	if b.Reached == "" {
		b.Reached = StepDiscover
	}
	return b
}

// transfer returns the file of a TFTP read or HTTP boot request and
// whether it was sent in full; name is "" for other entries.
func transfer(e entry) (name string, ok bool) {
	switch {
	case e.pkg == "tftpd" && e.Action == "read":
		return str(e.Fields["file"]), str(e.Fields["outcome"]) == "ok"
	case e.pkg == "boot" && e.Action == "http":
		st, _ := e.Fields["status"].(float64)
		return str(e.Fields["file"]), st == 200 || st == 206
	}
	return "", false
}

func transferDetail(e entry) string {
	name, _ := transfer(e)
	via := "TFTP"
	if e.pkg == "boot" {
		via = "HTTP"
	}
	return name + " (" + via + ")"
}

func failure(e entry) string {
	if s := str(e.Fields["error"]); s != "" {
		return clip(s, 120)
	}
	if e.pkg == "boot" {
		return fmt.Sprintf("status %v", e.Fields["status"])
	}
	return str(e.Fields["outcome"])
}

// fileKind sorts a boot file name into a step.
func fileKind(name string) string {
	dir, base := path.Split(strings.ToLower(name))
	switch {
	case strings.HasSuffix(base, ".ipxe") || path.Base(dir) == "pxelinux.cfg" ||
		strings.HasPrefix(base, "grub.cfg") || strings.HasSuffix(base, ".cfg"):
		return StepConfig
	case strings.HasPrefix(base, "vmlinuz") || strings.HasPrefix(base, "linux") ||
		strings.HasPrefix(base, "bzimage") || strings.HasPrefix(base, "kernel"):
		return StepKernel
	case strings.Contains(base, "initrd") || strings.Contains(base, "initramfs"):
		return StepInitrd
	}
	return StepBootFile
}

// str returns v when it is a string.
func str(v any) string {
	s, _ := v.(string)
	return s
}

// clip cuts s to at most n bytes, at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
