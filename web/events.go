package web

import (
	"context"
	"slices"
	"strings"

	"github.com/pxelator/pxelator"
	"github.com/pxelator/pxelator/audit"
)

// machineEvents returns one page, newest first, of the documents of m:
// those recorded with its MAC address and those recorded with its IP
// address only (TFTP reads, syslog lines of a machine not yet known).
// Documents of another MAC at m's address are left out. q.Machine is
// ignored; q.Cursor continues a page this function returned.
func (h *Handler) machineEvents(ctx context.Context, m pxelator.Machine, q audit.EventsQuery) (audit.Page, error) {
	limit := audit.PageLimit(q.Limit)
	q.Limit = limit
	mac := m.MAC.String()
	q.Machine = mac
	byMAC, err := h.Audit.Events(ctx, q)
	if err != nil {
		return audit.Page{}, err
	}
	if !m.IP.IsValid() {
		return byMAC, nil
	}
	q.Machine = m.IP.String()
	byIP, err := h.Audit.Events(ctx, q)
	if err != nil {
		return audit.Page{}, err
	}
	return mergePages(limit, mac, byMAC, byIP), nil
}

// mergePages merges pages of the same query by different machine keys:
// it keeps each document once, leaves out those of MACs other than mac,
// and cuts the result where one of the pages stops knowing what follows,
// so that the cursor of the merged page continues both.
func mergePages(limit int, mac string, pages ...audit.Page) audit.Page {
	newer := func(a, b audit.Document) int { // a before b: newest first
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	}
	// The horizon: documents older than the last one of a page that has
	// more are not known in full.
	var horizon *audit.Document
	var docs []audit.Document
	for _, p := range pages {
		if p.Next != "" && len(p.Documents) > 0 {
			last := p.Documents[len(p.Documents)-1]
			if horizon == nil || newer(last, *horizon) < 0 {
				horizon = &last
			}
		}
		for _, d := range p.Documents {
			if d.MAC == "" || d.MAC == mac {
				docs = append(docs, d)
			}
		}
	}
	slices.SortFunc(docs, newer)
	docs = slices.CompactFunc(docs, func(a, b audit.Document) bool { return a.ID == b.ID })
	out := audit.Page{}
	for _, d := range docs {
		if horizon != nil && newer(*horizon, d) < 0 {
			break // past what every page knows
		}
		if len(out.Documents) == limit {
			last := out.Documents[limit-1]
			out.Next = audit.Cursor{Time: last.Time, ID: last.ID}.String()
			return out
		}
		out.Documents = append(out.Documents, d)
	}
	if horizon != nil {
		out.Next = audit.Cursor{Time: horizon.Time, ID: horizon.ID}.String()
	}
	return out
}
