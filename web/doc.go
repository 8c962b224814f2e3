// Package web is the web overview of a PXElator network segment: one
// [http.Handler] with the machines of a [pxelator.Store], what the audit
// knows of them, their power state and reachability, pages to change
// them, a JSON API and Prometheus metrics. Any tool can mount it; the
// reference server (cmd/pxelator) serves it beside /boot/.
//
// Pages are rendered on the server with html/template; templates, the
// style sheet and a few lines of JavaScript (live refresh of the
// overview) are embedded, nothing comes from another site, and every
// page and form works with JavaScript off. Plots are inline SVG drawn on
// the server.
//
// What the Handler shows comes from small interfaces, each optional but
// the store: [Power] (wake, on, off, cycle; read the BMC; package power's
// Switcher is one), [Monitor] (up/down
// and ping round-trip), [Schedule] (the kiosk schedule and its next on and
// off) and an [audit.Querier] (last seen, events, boot progress, plots,
// search). A column or form whose source is nil is left out. The counts
// on top of the overview are the machines, those up, those down that are
// not expected down by their schedule, and those DHCP created today.
//
// # Pages
//
//	GET  /                         the machines: MAC, IP, host name, profile, netboot, last seen and by
//	                               what, power state, last boot, up/down, rtt, kiosk schedule; counts on
//	                               top; ?q=words (filter) &sort=[-]ip|mac|hostname|profile|netboot|status|rtt
//	                               &page=N &per=N (at most 1000)
//	GET  /machines/{mac}           one machine: attributes (secrets only as "set"), last boot step by
//	                               step, plots of ping rtt and of DHCP exchanges (?range=1h|24h|7d|30d),
//	                               events newest first (?cursor=), forms; ?read=power reads the BMC
//	POST /machines/{mac}/power     form: action=wake|on|off|soft-off|cycle|reset
//	POST /machines/{mac}/netboot   form: netboot=on|off
//	POST /machines/{mac}/profile   form: profile=NAME [once=1: boot it once, then the local disk]
//	POST /machines/{mac}/hostname  form: hostname=NAME
//	GET  /audit                    the audit search, counts and averages as tables and a bar chart
//	GET  /login, POST /login       the login form
//	POST /logout
//
// # JSON API
//
//	GET   /api/summary                  {"machines","up","down","new_today"}
//	GET   /api/machines                 {"total","page","per","pages","machines":[MachineInfo]}; the query of /
//	GET   /api/machines/{mac}           MachineInfo
//	PATCH /api/machines/{mac}           body Change: {"hostname","profile","profile_once","netboot"} → MachineInfo
//	GET   /api/machines/{mac}/events    {"documents":[audit.Document],"next"}; ?cursor= &limit= (≤ 500) &package= &since= &until= &where=
//	GET   /api/machines/{mac}/boot      BootProgress
//	GET   /api/machines/{mac}/power     PowerInfo, read from the BMC now
//	POST  /api/machines/{mac}/power     body PowerRequest {"action":"on"} → {"mac","action","result"}
//	GET   /api/audit/events             {"documents","next"}; ?machine= &package= &since= &until= &where= &cursor= &limit=
//	GET   /api/audit/count              {"by","groups":[{"key","count"}]}; ?by=f1[,f2] and the filter
//	GET   /api/audit/stats              {"by","groups":[{"key","count","sum","avg"}]}; ?field= &by= and the filter
//	GET   /metrics                      Prometheus text format, when Metrics is set
//
// Times (since, until) are RFC 3339, 2006-01-02T15:04 in the Handler's
// Location, a date, or a duration before now ("24h"). where is a list of
// field=value conditions that an entry of each document meets (values as
// audit.FormatValue prints them); documents are read up to 10,000 at a
// time to fill a page. Errors are JSON {"error": "..."} with a 4xx status
// for bad input: 400 for a bad MAC, action, parameter or body, 401
// without the login, 403 with a wrong token, 404 for an unknown machine,
// 405 for a wrong method, 413 for a body over 64 KiB, 415 for a body
// that is not JSON; 501 when the Handler has no power backend or audit,
// 502 when the BMC fails, 503 when the audit store does.
//
// # Login
//
// Reading is open to loopback and to ReadNetworks; other clients must log
// in. Every change needs the login, Token: a person types it at /login
// and gets a session cookie (HttpOnly, SameSite=Strict, 12 hours), and
// every form carries the session's CSRF token; an API client sends
// "Authorization: Bearer <token>" (cookies do not count for the API).
// Tokens are compared in constant time. A refused change reaches neither
// the power backend nor the store.
//
// Secret attributes ([pxelator.Attr].Secret, such as a BMC password) are
// shown only as "set": never in a page, an API answer or a log line, and
// the values of the store's secrets are replaced by "[secret]" in the
// audit documents shown (the audit never holds them in the first place;
// the overview's boot details are checked against the secrets of the
// machines shown). Secrets shorter than 4 bytes are not replaced.
//
// # Boot progress
//
// The steps of a machine's last boot come from the events dhcpd, tftpd,
// boot and syslogd record: see [BootProgress].
//
// # Speed
//
// The overview filters and sorts every machine in memory but asks the
// audit only about the machines of the page shown (100 by default).
package web
