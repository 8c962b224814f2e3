package web

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// Plots are drawn on the server as inline SVG: they need neither
// JavaScript nor anything from another site.

const (
	plotW, plotH         = 720, 180
	padL, padR           = 56, 12
	padT, padB           = 12, 28
	innerW, innerH       = plotW - padL - padR, plotH - padT - padB
	maxPlotDocs          = 10000 // the documents read for one plot
	bootBuckets          = 48
	pingPackage          = "ping" // the package of the monitor's events, with field "rtt" in ms
	pingField            = "rtt"
	chartRowH, chartBarW = 18, 420
)

// sample is one ping: its time and round-trip in ms, or lost.
type sample struct {
	t    time.Time
	ms   float64
	lost bool
}

// pingSamples reads the pings of m since from.
func (h *Handler) pingSamples(ctx context.Context, m pxelator.Machine, from time.Time) ([]sample, error) {
	p, err := h.machineEvents(ctx, m, audit.EventsQuery{Filter: audit.Filter{Package: pingPackage, Since: from}, Limit: maxPlotDocs})
	if err != nil {
		return nil, err
	}
	var ss []sample
	for _, d := range p.Documents {
		for _, e := range d.Entries {
			if e.Time.Before(from) {
				continue
			}
			if v, ok := e.Fields[pingField].(float64); ok && v >= 0 && !math.IsInf(v, 0) {
				ss = append(ss, sample{t: e.Time, ms: v})
			} else {
				ss = append(ss, sample{t: e.Time, lost: true})
			}
		}
	}
	return ss, nil
}

// dhcpCounts counts m's DHCP exchanges (DISCOVERs and ACKs) since from
// in bootBuckets buckets up to to.
func (h *Handler) dhcpCounts(ctx context.Context, m pxelator.Machine, from, to time.Time) (discovers, acks []int, err error) {
	p, err := h.Audit.Events(ctx, audit.EventsQuery{Filter: audit.Filter{Package: "dhcpd", Machine: m.MAC.String(), Since: from}, Limit: maxPlotDocs})
	if err != nil {
		return nil, nil, err
	}
	discovers, acks = make([]int, bootBuckets), make([]int, bootBuckets)
	span := to.Sub(from)
	for _, d := range p.Documents {
		for _, e := range d.Entries {
			if e.Time.Before(from) || !e.Time.Before(to) {
				continue
			}
			i := int(int64(e.Time.Sub(from)) * bootBuckets / int64(span))
			switch e.Action {
			case "discover", "bootrequest":
				discovers[i]++
			case "ack":
				acks[i]++
			}
		}
	}
	return discovers, acks, nil
}

// svg builds one plot.
type svg struct {
	b        strings.Builder
	from, to time.Time
	loc      *time.Location
}

func newSVG(title string, w, h int) *svg {
	s := &svg{}
	fmt.Fprintf(&s.b, `<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s"><title>%s</title>`,
		w, h, w, h, esc(title), esc(title))
	return s
}

func esc(s string) string { return template.HTMLEscapeString(s) }

func (s *svg) x(t time.Time) float64 {
	span := s.to.Sub(s.from)
	if span <= 0 {
		return padL
	}
	return padL + float64(innerW)*float64(t.Sub(s.from))/float64(span)
}

// timeAxis draws the frame and five time labels.
func (s *svg) timeAxis() {
	fmt.Fprintf(&s.b, `<rect class="frame" x="%d" y="%d" width="%d" height="%d"/>`, padL, padT, innerW, innerH)
	layout := "15:04"
	if s.to.Sub(s.from) > 36*time.Hour {
		layout = "Jan 2 15:04"
	}
	for i := 0; i <= 4; i++ {
		t := s.from.Add(time.Duration(int64(s.to.Sub(s.from)) * int64(i) / 4))
		x := s.x(t)
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		fmt.Fprintf(&s.b, `<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/><text class="label" x="%.1f" y="%d" text-anchor="%s">%s</text>`,
			x, padT, x, padT+innerH, x, plotH-8, anchor, esc(t.In(s.loc).Format(layout)))
	}
}

// valueAxis draws three value labels up to top.
func (s *svg) valueAxis(top float64, unit string) {
	for i := 0; i <= 2; i++ {
		v := top * float64(i) / 2
		y := padT + float64(innerH) - float64(innerH)*float64(i)/2
		fmt.Fprintf(&s.b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/><text class="label" x="%d" y="%.1f" text-anchor="end">%s%s</text>`,
			padL, y, padL+innerW, y, padL-4, y+4, strconv.FormatFloat(v, 'g', 3, 64), esc(unit))
	}
}

func (s *svg) html() template.HTML {
	s.b.WriteString(`</svg>`)
	return template.HTML(s.b.String()) // built from numbers and escaped text only
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// rttPlot draws round-trip times as a line, lost pings as red ticks.
func rttPlot(ss []sample, from, to time.Time, loc *time.Location) template.HTML {
	s := newSVG("Ping round-trip times", plotW, plotH)
	s.from, s.to, s.loc = from, to, loc
	top := 0.0
	for _, p := range ss {
		if !p.lost {
			top = max(top, p.ms)
		}
	}
	top = niceCeil(top)
	s.timeAxis()
	s.valueAxis(top, " ms")
	var line strings.Builder
	y := func(v float64) float64 { return padT + float64(innerH)*(1-v/top) }
	for _, p := range ss {
		if p.lost {
			x := s.x(p.t)
			fmt.Fprintf(&s.b, `<line class="lost" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x, padT+innerH-8, x, padT+innerH)
			continue
		}
		fmt.Fprintf(&line, "%.1f,%.1f ", s.x(p.t), y(p.ms))
	}
	if line.Len() > 0 {
		fmt.Fprintf(&s.b, `<polyline class="rtt" points="%s"/>`, strings.TrimSpace(line.String()))
	}
	if len(ss) == 0 {
		fmt.Fprintf(&s.b, `<text class="empty" x="%d" y="%d" text-anchor="middle">no pings recorded</text>`, padL+innerW/2, padT+innerH/2)
	}
	return s.html()
}

// bootPlot draws DHCP DISCOVERs and ACKs per bucket as bars.
func bootPlot(discovers, acks []int, from, to time.Time, loc *time.Location) template.HTML {
	s := newSVG("DHCP exchanges", plotW, plotH)
	s.from, s.to, s.loc = from, to, loc
	top := 0
	for i := range discovers {
		top = max(top, discovers[i], acks[i])
	}
	topF := niceCeil(float64(top))
	s.timeAxis()
	s.valueAxis(topF, "")
	bw := float64(innerW) / float64(len(discovers))
	for i := range discovers {
		x := padL + bw*float64(i)
		for j, n := range [2]int{discovers[i], acks[i]} {
			if n == 0 {
				continue
			}
			hgt := float64(innerH) * float64(n) / topF
			class := "discover"
			if j == 1 {
				class = "ack"
			}
			fmt.Fprintf(&s.b, `<rect class="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%d %s</title></rect>`,
				class, x+bw*float64(j)/2+0.5, padT+float64(innerH)-hgt, bw/2-1, hgt, n, class)
		}
	}
	if top == 0 {
		fmt.Fprintf(&s.b, `<text class="empty" x="%d" y="%d" text-anchor="middle">no DHCP exchanges recorded</text>`, padL+innerW/2, padT+innerH/2)
	}
	return s.html()
}

// barChart draws rows as horizontal bars, largest first.
func barChart(title string, rows []groupRow, avg bool, unit string) template.HTML {
	h := padT + padB + chartRowH*max(1, len(rows))
	w := 260 + chartBarW + 80
	s := newSVG(title, w, h)
	top := 0.0
	for _, r := range rows {
		top = max(top, rowValue(r, avg))
	}
	if top == 0 {
		top = 1
	}
	for i, r := range rows {
		v := rowValue(r, avg)
		y := padT + chartRowH*i
		bw := float64(chartBarW) * v / top
		fmt.Fprintf(&s.b, `<text class="label" x="252" y="%d" text-anchor="end">%s</text><rect class="bar" x="260" y="%d" width="%.1f" height="%d"/><text class="label" x="%.1f" y="%d">%s%s</text>`,
			y+13, esc(clip(strings.Join(r.Key, " "), 40)), y+2, bw, chartRowH-4, 264+bw, y+13,
			strconv.FormatFloat(v, 'g', 4, 64), esc(unit))
	}
	return s.html()
}

func rowValue(r groupRow, avg bool) float64 {
	if avg {
		return r.Avg
	}
	return float64(r.Count)
}
