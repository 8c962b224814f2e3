// Command auditq answers audit questions from the shell, on the embedded
// store or on MongoDB, and prints a table (or JSON with -json):
//
//	auditq last kiosk-01                            when was it last seen, by which package
//	auditq events -machine kiosk-01 -since 1h       its documents, newest first
//	auditq count -by ip,power_state -package amt    AMT power states per IP
//	auditq avg rtt -by ip -package ping             ping round-trip per IP
//
// Common flags: -audit URI (mongodb://..., sqlite:PATH; default the
// embedded store under -conf, ./conf), -json, and the filters -package,
// -machine (MAC, IP or hostname), -since and -until (RFC 3339 or a
// duration back from now, like 24h).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pxelator/pxelator/audit"
	"github.com/pxelator/pxelator/audit/mongostore"
	"github.com/pxelator/pxelator/audit/sqlitestore"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "auditq:", err)
		os.Exit(2)
	}
}

const usage = `usage: auditq [flags] last MACHINE
       auditq [flags] events [-limit N] [-cursor C]
       auditq [flags] count -by FIELD[,FIELD]
       auditq [flags] avg FIELD -by FIELD[,FIELD]
FIELD: package, ip, mac, hostname, action, or a field of the events`

// options are the flags, accepted before and after the command.
type options struct {
	uri, conf, by string
	json          bool
	limit         int
	cursor        string
	filter        audit.Filter
	since, until  string
}

func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.uri, "audit", o.uri, "audit store `URI`: mongodb://..., sqlite:PATH (default: sqlite under -conf)")
	fs.StringVar(&o.conf, "conf", o.conf, "configuration `DIR` of the server")
	fs.BoolVar(&o.json, "json", o.json, "print JSON instead of a table")
	fs.StringVar(&o.filter.Package, "package", o.filter.Package, "only events of this `package`")
	fs.StringVar(&o.filter.Machine, "machine", o.filter.Machine, "only events of this `MAC, IP or hostname`")
	fs.StringVar(&o.since, "since", o.since, "only events at or after `TIME` (RFC 3339, or a duration before now)")
	fs.StringVar(&o.until, "until", o.until, "only events before `TIME`")
	fs.StringVar(&o.by, "by", o.by, "group by one or two `FIELD`s, comma separated")
	fs.IntVar(&o.limit, "limit", o.limit, "events per page")
	fs.StringVar(&o.cursor, "cursor", o.cursor, "continue after the page that printed this `cursor`")
}

// parse parses flags and positional arguments in any order.
func (o *options) parse(name string, args []string, stderr io.Writer) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	o.register(fs)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", s)
}

func open(ctx context.Context, o *options) (audit.Backend, error) {
	switch {
	case o.uri == "":
		path := filepath.Join(o.conf, "audit.db")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no audit store: %w", err)
		}
		return sqlitestore.Open(ctx, path)
	case strings.HasPrefix(o.uri, "sqlite:"):
		path := strings.TrimPrefix(o.uri, "sqlite:")
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no audit store: %w", err)
		}
		return sqlitestore.Open(ctx, path)
	case strings.HasPrefix(o.uri, "mongodb://"), strings.HasPrefix(o.uri, "mongodb+srv://"):
		return mongostore.Open(ctx, o.uri, nil)
	}
	return nil, fmt.Errorf("-audit %q: want mongodb://... or sqlite:PATH", o.uri)
}

func run(ctx context.Context, args []string, stdout io.Writer, now time.Time) error {
	o := &options{conf: "./conf"}
	pos, err := o.parse("auditq", args, os.Stderr)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errors.New(usage)
	}
	cmd, pos := pos[0], pos[1:]
	if o.filter.Since, err = parseTime(o.since, now); err != nil {
		return fmt.Errorf("-since: %w", err)
	}
	if o.filter.Until, err = parseTime(o.until, now); err != nil {
		return fmt.Errorf("-until: %w", err)
	}
	var by []string
	if o.by != "" {
		by = strings.Split(o.by, ",")
	}
	want := map[string]int{"last": 1, "events": 0, "count": 0, "avg": 1}
	n, ok := want[cmd]
	if !ok {
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	if len(pos) != n {
		return fmt.Errorf("%s: want %d arguments, got %q\n%s", cmd, n, pos, usage)
	}
	b, err := open(ctx, o)
	if err != nil {
		return err
	}
	defer b.Close()

	var result any
	var table [][]string
	switch cmd {
	case "last":
		s, err := b.LastSeen(ctx, pos[0])
		if err != nil {
			return err
		}
		result = s
		table = [][]string{
			{"TIME", "PACKAGE", "ACTION", "IP", "MAC", "HOSTNAME", "ID"},
			{s.Time.Format(time.RFC3339Nano), s.Package, s.Action, s.IP, s.MAC, s.Hostname, s.ID},
		}
	case "events":
		p, err := b.Events(ctx, audit.EventsQuery{Filter: o.filter, Limit: o.limit, Cursor: o.cursor})
		if err != nil {
			return err
		}
		result = p
		table = [][]string{{"TIME", "PACKAGE", "ACTION", "IP", "MAC", "HOSTNAME", "FIELDS"}}
		for _, d := range p.Documents {
			for _, e := range d.Entries {
				f, _ := json.Marshal(e.Fields)
				if e.Fields == nil {
					f = nil
				}
				table = append(table, []string{e.Time.Format(time.RFC3339Nano), d.Package, e.Action, d.IP, d.MAC, d.Hostname, string(f)})
			}
		}
		if p.Next != "" {
			table = append(table, []string{"more: -cursor " + p.Next})
		}
	case "count":
		gs, err := b.Count(ctx, audit.CountQuery{Filter: o.filter, By: by})
		if err != nil {
			return err
		}
		result = groupsJSON(by, gs, false)
		table = [][]string{append(upper(by), "COUNT")}
		for _, g := range gs {
			table = append(table, append(g.Key, strconv.FormatInt(g.Count, 10)))
		}
	case "avg":
		gs, err := b.Stats(ctx, audit.StatsQuery{Filter: o.filter, Field: pos[0], By: by})
		if err != nil {
			return err
		}
		result = groupsJSON(by, gs, true)
		table = [][]string{append(upper(by), "COUNT", "SUM", "AVG")}
		for _, g := range gs {
			table = append(table, append(g.Key, strconv.FormatInt(g.Count, 10), num(g.Sum), num(g.Avg())))
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(result)
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 2, ' ', 0)
	for _, row := range table {
		for i, c := range row {
			if c == "" {
				row[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

func upper(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strings.ToUpper(x)
	}
	return out
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// groupsJSON gives each group its fields by name, for -json.
func groupsJSON(by []string, gs []audit.Group, stats bool) []map[string]any {
	out := make([]map[string]any, 0, len(gs))
	for _, g := range gs {
		m := map[string]any{"count": g.Count}
		for i, f := range by {
			m[f] = g.Key[i]
		}
		if stats {
			m["sum"], m["avg"] = g.Sum, g.Avg()
		}
		out = append(out, m)
	}
	return out
}
