package pxelator

import (
	"errors"
	"fmt"
	"os"
	"sync"
)

// groupSync fsyncs files and directories for many writers at once: a
// writer that arrives while a sync runs waits for the next one, which
// covers every writer that arrived meanwhile (a group commit). On a file
// system with a journal, the first fsync of a batch commits the others'
// changes too, so a batch costs about one fsync.
type groupSync struct {
	mu      sync.Mutex
	running bool
	queue   []syncReq
}

type syncReq struct {
	paths []string
	done  chan error
}

// sync makes paths durable and returns when they are.
func (g *groupSync) sync(paths []string) error {
	req := syncReq{paths: paths, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, req)
	if g.running {
		g.mu.Unlock()
		return <-req.done
	}
	g.running = true
	for len(g.queue) > 0 {
		batch := g.queue
		g.queue = nil
		g.mu.Unlock()
		syncBatch(batch)
		g.mu.Lock()
	}
	g.running = false
	g.mu.Unlock()
	return <-req.done
}

// syncBatch fsyncs each distinct path of the batch once and tells every
// request the outcome for its own paths.
func syncBatch(batch []syncReq) {
	errs := make(map[string]error)
	for _, r := range batch {
		for _, p := range r.paths {
			if _, done := errs[p]; !done {
				errs[p] = fsync(p)
			}
		}
	}
	for _, r := range batch {
		var err error
		for _, p := range r.paths {
			err = errors.Join(err, errs[p])
		}
		r.done <- err
	}
}

func fsync(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("pxelator: sync: %w", err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return fmt.Errorf("pxelator: sync: %w", err)
	}
	return nil
}
