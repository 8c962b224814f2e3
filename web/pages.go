package web

import (
	"bytes"
	"cmp"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// page is what every page template sees.
type page struct {
	Title    string
	Path     string
	LoggedIn bool
	CSRF     string // the session's CSRF token, for forms
	CanLogin bool   // a token is configured
	Now      time.Time
}

func (h *Handler) page(r *http.Request, title string) page {
	p := page{Title: title, Path: r.URL.Path, CanLogin: h.Token != "", Now: h.now()}
	if s, ok := h.session(r); ok {
		p.LoggedIn, p.CSRF = true, s.csrf
	}
	return p
}

func funcs(h *Handler) template.FuncMap {
	return template.FuncMap{
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(h.loc()).Format("2006-01-02 15:04:05")
		},
		"clock": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(h.loc()).Format("Mon 15:04")
		},
		"ago": func(t time.Time) string { return ago(h.now(), t) },
		"ms": func(d time.Duration) string {
			return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
		},
		"pathmac":   func(mac string) string { return url.PathEscape(mac) },
		"steplabel": stepLabel,
	}
}

// ago says how long before now t was, shortly.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in " + ago(t, now)
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	}
	return strconv.Itoa(int(d/(24*time.Hour))) + " days ago"
}

func stepLabel(name string) string {
	switch name {
	case StepDiscover:
		return "DHCP discover"
	case StepOffer:
		return "DHCP offer"
	case StepAck:
		return "DHCP ack"
	case StepConfig:
		return "iPXE script / pxelinux config"
	case StepSyslog:
		return "first syslog line"
	}
	return name
}

// render executes a template into a buffer first, so that a template
// error is a clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var b bytes.Buffer
	if err := h.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		h.logger().Error("web: rendering a page", "page", name, "err", err)
		http.Error(w, "web: rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

type errorData struct {
	page
	Status  int
	Message string
	Back    string
}

// pageError answers with a page that says what went wrong.
func (h *Handler) pageError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	back := "/"
	if mac := r.PathValue("mac"); mac != "" {
		if _, err := pxelator.ParseMAC(mac); err == nil {
			back = "/machines/" + url.PathEscape(mac)
		}
	}
	h.render(w, r, status, "error.html", errorData{page: h.page(r, http.StatusText(status)), Status: status, Message: msg, Back: back})
}

type overviewData struct {
	page
	Summary     summary
	Query       listQuery
	Rows        []MachineInfo
	Total       int
	Pages       int
	HasMonitor  bool
	HasSchedule bool
	HasAudit    bool
	Sorts       map[string]string // column: the link that sorts by it
	Prev, Next  string
}

func (h *Handler) overviewPage(w http.ResponseWriter, r *http.Request) {
	q, err := parseListQuery(r.URL.Query())
	if err != nil {
		h.pageError(w, r, statusOf(err), err.Error())
		return
	}
	l, all, err := h.list(r.Context(), q)
	if err != nil {
		h.pageError(w, r, http.StatusInternalServerError, "web: store: "+err.Error())
		return
	}
	d := overviewData{
		page:    h.page(r, "Machines"),
		Summary: h.summarize(r.Context(), all), Query: q,
		Rows:  h.describe(r.Context(), l.Machines, redactorOf(l.Machines)),
		Total: l.Total, Pages: l.Pages,
		HasMonitor: h.Monitor != nil, HasSchedule: h.Schedule != nil, HasAudit: h.Audit != nil,
		Sorts: map[string]string{},
	}
	link := func(sort string, page int) string {
		v := url.Values{}
		if q.Text != "" {
			v.Set("q", q.Text)
		}
		if sort != sortIP {
			v.Set("sort", sort)
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if q.Per != defaultPer {
			v.Set("per", strconv.Itoa(q.Per))
		}
		if len(v) == 0 {
			return "/"
		}
		return "/?" + v.Encode()
	}
	cur := q.Sort
	if q.Desc {
		cur = "-" + cur
	}
	for _, c := range []string{sortIP, sortMAC, sortHostname, sortProfile, sortNetboot, sortStatus, sortRTT} {
		s := c
		if c == q.Sort && !q.Desc {
			s = "-" + c
		}
		d.Sorts[c] = link(s, 1)
	}
	if q.Page > 1 {
		d.Prev = link(cur, q.Page-1)
	}
	if q.Page < l.Pages {
		d.Next = link(cur, q.Page+1)
	}
	h.render(w, r, http.StatusOK, "overview.html", d)
}

// plotRanges are the time ranges the machine page plots.
var plotRanges = [...]string{"1h", "24h", "7d", "30d"}

func parseRange(s string) (time.Duration, string) {
	switch s {
	case "1h":
		return time.Hour, s
	case "7d":
		return 7 * 24 * time.Hour, s
	case "30d":
		return 30 * 24 * time.Hour, s
	}
	return 24 * time.Hour, "24h"
}

type attrRow struct {
	Key, Value string
	Secret     bool
}

// eventRow is an audit document as the pages show it.
type eventRow struct {
	Time    time.Time
	ID      string
	Package string
	Subject string // IP, MAC, host name
	Entries []string
	More    int
}

// maxShownEntries bounds the entries shown per document.
const maxShownEntries = 6

func eventRows(ds []audit.Document) []eventRow {
	rows := make([]eventRow, len(ds))
	for i, d := range ds {
		subj := strings.Join(slices.DeleteFunc([]string{d.IP, d.MAC, d.Hostname}, func(s string) bool { return s == "" }), " ")
		rows[i] = eventRow{Time: d.Time, ID: d.ID, Package: d.Package, Subject: subj}
		for j, e := range d.Entries {
			if j == maxShownEntries {
				rows[i].More = len(d.Entries) - j
				break
			}
			rows[i].Entries = append(rows[i].Entries, entryText(e))
		}
	}
	return rows
}

// entryText is one entry as one line: action, then the fields sorted.
func entryText(e audit.Entry) string {
	var b strings.Builder
	b.WriteString(e.Action)
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		fmt.Fprintf(&b, " %s=%s", k, clip(audit.FormatValue(e.Fields[k]), 200))
	}
	return b.String()
}

type machineData struct {
	page
	M          MachineInfo
	Attrs      []attrRow
	Events     []eventRow
	EventsErr  string
	Older      string
	Newest     string
	Range      string
	Ranges     []string
	RTTPlot    template.HTML
	BootPlot   template.HTML
	HasAudit   bool
	HasPower   bool
	HasMonitor bool
	Actions    []string
	Profiles   []string
	Done       string
	PowerErr   string
	Package    string   // the events shown are of this package only
	Packages   []string // the packages to choose from
}

// machineEventsShown is the page size of the machine page's events.
const machineEventsShown = 20

// eventPackages are the packages the machine page offers to show the
// events of.
var eventPackages = [...]string{"dhcpd", "tftpd", "boot", "syslogd", "dnsd", "amt", "drac", "wol", pingPackage, "monitor", "schedule", "web"}

// doneMessages are the messages a form's redirect may ask the machine
// page to show.
func doneMessage(code string) string {
	if a, ok := strings.CutPrefix(code, "power-"); ok && validAction(a) {
		return "Power action " + a + " sent."
	}
	switch code {
	case "changed":
		return "Saved."
	}
	return ""
}

func (h *Handler) machinePage(w http.ResponseWriter, r *http.Request) {
	m, err := h.machineOf(r)
	if err != nil {
		h.pageError(w, r, statusOf(err), err.Error())
		return
	}
	v := r.URL.Query()
	cursor, err := param(v, "cursor")
	if err == nil && cursor != "" {
		_, err = audit.ParseCursor(cursor)
	}
	pkg, perr := param(v, "package")
	if err = cmp.Or(err, perr); err != nil {
		h.pageError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	red := h.redactor(ctx)
	span, rng := parseRange(v.Get("range"))
	d := machineData{
		page:     h.page(r, m.Hostname),
		M:        h.describe(ctx, []pxelator.Machine{m}, red)[0],
		Range:    rng,
		Ranges:   plotRanges[:],
		HasAudit: h.Audit != nil, HasPower: h.Power != nil, HasMonitor: h.Monitor != nil,
		Actions: powerActions[:], Packages: eventPackages[:],
		Done: doneMessage(v.Get("done")),
	}
	if d.Title == "" {
		d.Title = m.MAC.String()
	}
	if h.Profiles != nil {
		d.Profiles = h.Profiles()
	}
	d.Attrs = append(d.Attrs, attrRow{Key: "server", Value: d.M.Server})
	for _, k := range m.Keys() {
		a, _ := m.Attr(k)
		if a.Secret {
			d.Attrs = append(d.Attrs, attrRow{Key: k, Secret: true})
		} else {
			d.Attrs = append(d.Attrs, attrRow{Key: k, Value: a.Value})
		}
	}
	if v.Get("read") == "power" && h.Power != nil {
		if p, err := h.readPower(ctx, m); err != nil {
			d.PowerErr = err.Error()
		} else {
			d.M.Power = p
		}
	}
	if h.Audit != nil {
		base := "/machines/" + url.PathEscape(m.MAC.String()) + "?range=" + rng
		if pkg != "" {
			base += "&package=" + url.QueryEscape(pkg)
		}
		d.Package = pkg
		p, err := h.machineEvents(ctx, m, audit.EventsQuery{Filter: audit.Filter{Package: pkg}, Limit: machineEventsShown, Cursor: cursor})
		if err != nil {
			d.EventsErr = err.Error()
		} else {
			d.Events = eventRows(red.docs(p.Documents))
			if p.Next != "" {
				d.Older = base + "&cursor=" + url.QueryEscape(p.Next) + "#events"
			}
			if cursor != "" {
				d.Newest = base + "#events"
			}
		}
		to := h.now()
		from := to.Add(-span)
		if ss, err := h.pingSamples(ctx, m, from); err == nil {
			d.RTTPlot = rttPlot(ss, from, to, h.loc())
		} else {
			h.queryFailed(ctx, "pings", err)
		}
		if ds, as, err := h.dhcpCounts(ctx, m, from, to); err == nil {
			d.BootPlot = bootPlot(ds, as, from, to, h.loc())
		} else {
			h.queryFailed(ctx, "DHCP exchanges", err)
		}
	}
	h.render(w, r, http.StatusOK, "machine.html", d)
}

// formDone redirects back to the machine page after a form.
func formDone(w http.ResponseWriter, r *http.Request, m pxelator.Machine, code string) {
	http.Redirect(w, r, "/machines/"+url.PathEscape(m.MAC.String())+"?done="+code, http.StatusSeeOther)
}

func (h *Handler) powerForm(w http.ResponseWriter, r *http.Request) {
	m, err := h.machineOf(r)
	if err == nil {
		err = h.doPower(r.Context(), r, m, r.PostForm.Get("action"))
	}
	if err != nil {
		h.pageError(w, r, statusOf(err), err.Error())
		return
	}
	formDone(w, r, m, "power-"+r.PostForm.Get("action"))
}

func (h *Handler) changeForm(w http.ResponseWriter, r *http.Request, c Change) {
	m, err := h.machineOf(r)
	if err == nil {
		m, err = h.change(r.Context(), r, m, c)
	}
	if err != nil {
		h.pageError(w, r, statusOf(err), err.Error())
		return
	}
	formDone(w, r, m, "changed")
}

func (h *Handler) netbootForm(w http.ResponseWriter, r *http.Request) {
	var on bool
	switch r.PostForm.Get("netboot") {
	case "on":
		on = true
	case "off":
	default:
		h.pageError(w, r, http.StatusBadRequest, "web: netboot: want on or off")
		return
	}
	h.changeForm(w, r, Change{Netboot: &on})
}

func (h *Handler) profileForm(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSpace(r.PostForm.Get("profile"))
	if r.PostForm.Get("once") != "" {
		h.changeForm(w, r, Change{ProfileOnce: &p})
		return
	}
	h.changeForm(w, r, Change{Profile: &p})
}

func (h *Handler) hostnameForm(w http.ResponseWriter, r *http.Request) {
	n := r.PostForm.Get("hostname")
	h.changeForm(w, r, Change{Hostname: &n})
}

type auditData struct {
	page
	Form    url.Values
	Query   searchQuery
	Err     string
	Events  []eventRow
	Next    string
	Groups  []groupRow
	Chart   template.HTML
	ByNames []string
}

func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	d := auditData{page: h.page(r, "Audit"), Form: v}
	if h.Audit == nil {
		d.Err = "No audit store is configured."
		h.render(w, r, http.StatusOK, "audit.html", d)
		return
	}
	if len(v) == 0 {
		v = url.Values{"since": {"24h"}}
		d.Form = v
	}
	q, err := parseSearch(v, "", h.now(), h.loc())
	d.Query = q
	if err != nil {
		d.Err = err.Error()
		h.render(w, r, statusOf(err), "audit.html", d)
		return
	}
	ctx := r.Context()
	status := http.StatusOK
	switch q.Mode {
	case modeEvents:
		p, err := h.searchEvents(ctx, q)
		if err != nil {
			d.Err, status = err.Error(), http.StatusServiceUnavailable
			break
		}
		d.Events = eventRows(h.redactor(ctx).docs(p.Documents))
		if p.Next != "" {
			nv := maps.Clone(v)
			nv.Set("cursor", p.Next)
			d.Next = "/audit?" + nv.Encode()
		}
	default:
		rows, err := h.searchGroups(ctx, q)
		if err != nil {
			d.Err, status = err.Error(), http.StatusServiceUnavailable
			break
		}
		d.Groups = rows
		d.ByNames = q.By
		title, unit := "Events per "+strings.Join(q.By, ", "), ""
		if q.Mode == modeAvg {
			title = "Average " + q.Field + " per " + strings.Join(q.By, ", ")
			if q.Field == pingField {
				unit = " ms"
			}
		}
		d.Chart = barChart(title, topRows(rows, 40, q.Mode == modeAvg), q.Mode == modeAvg, unit)
	}
	h.render(w, r, status, "audit.html", d)
}
