package pxelator

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// groupSync makes files and directories durable for many writers at
// once: a writer that arrives while a sync runs waits for the next one,
// which covers every writer that arrived meanwhile (a group commit). A
// batch of one path is one fsync; a larger batch is one syncfs(2) of the
// file system that holds root, which costs about as much as one fsync
// and far less than an fsync per path.
type groupSync struct {
	root string

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
		g.syncBatch(batch)
		g.mu.Lock()
	}
	g.running = false
	g.mu.Unlock()
	return <-req.done
}

// syncBatch makes every path of the batch durable and tells each request
// the outcome.
func (g *groupSync) syncBatch(batch []syncReq) {
	var err error
	if len(batch) == 1 && len(batch[0].paths) == 1 {
		err = fsync(batch[0].paths[0])
	} else {
		err = syncfs(g.root)
	}
	for _, r := range batch {
		r.done <- err
	}
}

// syncfs flushes the whole file system that holds path.
func syncfs(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("pxelator: sync: %w", err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("pxelator: sync %s: %w", path, err)
	}
	return nil
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
