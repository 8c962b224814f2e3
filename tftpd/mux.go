package tftpd

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
)

// ServeMux routes requests by file name to the handler whose pattern
// matches best:
//
//   - a pattern without wildcards and without a trailing slash matches
//     that name only ("pxelinux.0");
//   - a pattern ending in a slash matches every name below it
//     ("pxelinux.cfg/");
//   - a pattern with the wildcards of path.Match matches the names it
//     matches ("*.efi", "grub/grub.cfg-*").
//
// An exact name wins; otherwise the longest matching pattern wins, and
// between equally long ones the first registered. Names are matched
// without leading slashes. Requests that match nothing get "file not
// found".
type ServeMux struct {
	mu    sync.RWMutex
	exact map[string]Handler
	rules []muxRule
}

type muxRule struct {
	pattern string
	prefix  bool
	h       Handler
}

// NewServeMux returns an empty ServeMux.
func NewServeMux() *ServeMux { return &ServeMux{exact: make(map[string]Handler)} }

// Handle registers h for pattern. It returns an error for an empty or
// malformed pattern or one that is already registered.
func (m *ServeMux) Handle(pattern string, h Handler) error {
	pattern = strings.TrimLeft(pattern, "/")
	if h == nil {
		return fmt.Errorf("tftpd: pattern %q: nil handler", pattern)
	}
	if pattern == "" {
		return fmt.Errorf("tftpd: empty pattern")
	}
	if _, err := path.Match(pattern, ""); err != nil {
		return fmt.Errorf("tftpd: pattern %q: %w", pattern, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.exact == nil {
		m.exact = make(map[string]Handler)
	}
	if _, dup := m.exact[pattern]; dup {
		return fmt.Errorf("tftpd: pattern %q registered twice", pattern)
	}
	for _, r := range m.rules {
		if r.pattern == pattern {
			return fmt.Errorf("tftpd: pattern %q registered twice", pattern)
		}
	}
	switch {
	case strings.HasSuffix(pattern, "/"):
		m.rules = append(m.rules, muxRule{pattern: pattern, prefix: true, h: h})
	case strings.ContainsAny(pattern, `*?[\`):
		m.rules = append(m.rules, muxRule{pattern: pattern, h: h})
	default:
		m.exact[pattern] = h
	}
	return nil
}

// HandleFunc registers f for pattern.
func (m *ServeMux) HandleFunc(pattern string, f func(ctx context.Context, w ResponseWriter, r *Request)) error {
	return m.Handle(pattern, HandlerFunc(f))
}

// Handler returns the handler for name, or nil when no pattern matches.
func (m *ServeMux) Handler(name string) Handler {
	name = strings.TrimLeft(name, "/")
	m.mu.RLock()
	defer m.mu.RUnlock()
	if h, ok := m.exact[name]; ok {
		return h
	}
	var best *muxRule
	for i := range m.rules {
		r := &m.rules[i]
		var ok bool
		if r.prefix {
			ok = strings.HasPrefix(name, r.pattern)
		} else {
			ok, _ = path.Match(r.pattern, name)
		}
		if ok && (best == nil || len(r.pattern) > len(best.pattern)) {
			best = r
		}
	}
	if best == nil {
		return nil
	}
	return best.h
}

// ServeTFTP dispatches r to the handler for its file name.
func (m *ServeMux) ServeTFTP(ctx context.Context, w ResponseWriter, r *Request) {
	if h := m.Handler(r.Filename); h != nil {
		h.ServeTFTP(ctx, w, r)
		return
	}
	NotFound(ctx, w, r)
}
