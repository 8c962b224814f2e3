package dirstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pxelator/pxelator"
)

// maxQueued bounds the changes journaled but not yet in the machine
// directories; a writer waits while that many are.
const maxQueued = 1 << 16

// applyRetry is how long the applier waits before it tries again a change
// the disk refused.
const applyRetry = time.Second

// applier makes journaled changes in the machine directories, one after
// the other in the order they were journaled, behind the writers: a
// change is durable once it is in the journal, so a writer need not wait
// for its directory. Creating files is the slow part of a write on some
// file systems; one goroutine doing it keeps the kernel from contending
// for the directory, and keeps it off the writers' path.
//
// A change the disk refuses is tried again every applyRetry, holding up
// the ones after it; meanwhile writers are refused with its error, and
// checkpoints keep the journal.
type applier struct {
	s *Store

	mu      sync.Mutex
	cond    *sync.Cond     // signals a change queued, applied or failed, and close
	queue   []change       // journaled, not yet applied
	dirs    map[string]int // machine directories with changes in the queue
	queued  uint64         // changes queued so far
	applied uint64         // changes applied so far
	err     error          // why the change at the head of the queue failed
	closed  bool
	done    chan struct{} // closed when run returns
}

func newApplier(s *Store) *applier {
	a := &applier{s: s, dirs: make(map[string]int), done: make(chan struct{})}
	a.cond = sync.NewCond(&a.mu)
	go a.run()
	return a
}

// failing returns the error of the change the disk keeps refusing, if
// any.
func (a *applier) failing() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// enqueue queues a journaled change, waiting while the queue is full.
func (a *applier) enqueue(c change) {
	a.mu.Lock()
	for len(a.queue) >= maxQueued && !a.closed {
		a.cond.Wait()
	}
	a.queue = append(a.queue, c)
	a.queued++
	for _, d := range c.dirs() {
		a.dirs[d]++
	}
	a.mu.Unlock()
	a.cond.Broadcast()
}

// pending reports whether a change to machine directory dir (relative to
// the root) waits in the queue.
func (a *applier) pending(dir string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dirs[dir] > 0
}

// mark returns the number of changes queued so far, for wait.
func (a *applier) mark() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.queued
}

// wait returns once the first n changes queued are applied, or with the
// error of a change the disk refuses, or when ctx is done.
func (a *applier) wait(ctx context.Context, n uint64) error {
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.cond.Broadcast()
	})
	defer stop()
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.applied < n {
		switch {
		case a.err != nil:
			return a.err
		case ctx.Err() != nil:
			return ctx.Err()
		case a.closed:
			return fmt.Errorf("dirstore: %w", os.ErrClosed)
		}
		a.cond.Wait()
	}
	return nil
}

// close stops the applier once the queue is empty, or at once when the
// disk refuses a change: the journal keeps it for the next open.
func (a *applier) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.cond.Broadcast()
	<-a.done
}

// run applies the queued changes until close.
func (a *applier) run() {
	defer close(a.done)
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		for len(a.queue) == 0 && !a.closed {
			a.cond.Wait()
		}
		if len(a.queue) == 0 {
			return
		}
		c := a.queue[0]
		a.mu.Unlock()
		err := a.s.apply(&c)
		if err == nil && a.s.watch != nil && len(c.Files) > 0 {
			a.s.watch.add(filepath.Join(a.s.dir, c.Dir))
		}
		a.mu.Lock()
		if err != nil {
			if a.err == nil {
				a.s.log.Error("dirstore: writing a machine directory; retrying, and refusing changes meanwhile", "dir", c.Dir, "err", err)
			}
			a.err = err
			a.cond.Broadcast()
			if a.closed {
				return
			}
			a.mu.Unlock()
			time.Sleep(applyRetry)
			a.mu.Lock()
			continue
		}
		if a.err != nil {
			a.s.log.Info("dirstore: machine directories written again", "dir", c.Dir)
			a.err = nil
		}
		a.queue[0] = change{}
		a.queue = a.queue[1:]
		if len(a.queue) == 0 {
			a.queue = nil // let the backing array go
		}
		a.applied++
		for _, d := range c.dirs() {
			if a.dirs[d]--; a.dirs[d] == 0 {
				delete(a.dirs, d)
			}
		}
		a.cond.Broadcast()
	}
}

// apply makes change c on disk without syncing: the journal holds it
// already. A machine's files are written to a hidden directory and
// renamed into place, so that a reader never sees half a machine. It
// succeeds again when repeated, as a replay does.
func (s *Store) apply(c *change) error {
	target, err := machinePath(s.dir, c.Dir)
	if err != nil {
		return err
	}
	serverDir := filepath.Dir(target)
	var trash []string
	defer func() {
		for _, t := range trash {
			os.RemoveAll(t)
		}
	}()
	aside := func(dir, kind string) error {
		t := hiddenName(filepath.Dir(dir), filepath.Base(dir), kind)
		if err := os.Rename(dir, t); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("dirstore: %w", err)
		}
		trash = append(trash, t)
		return nil
	}
	if len(c.Files) == 0 {
		return aside(target, "del")
	}
	if err := os.MkdirAll(serverDir, 0o755); err != nil {
		return fmt.Errorf("dirstore: %w", err)
	}
	tmp, err := writeTemp(serverDir, filepath.Base(target), c.Files)
	if err != nil {
		return err
	}
	if c.Old != "" {
		old, err := machinePath(s.dir, c.Old)
		if err == nil {
			err = aside(old, "old")
		}
		if err != nil {
			os.RemoveAll(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		// Something is in the way: a replay's earlier version of target.
		err = aside(target, "old")
		if err == nil {
			err = os.Rename(tmp, target)
		}
		if err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("dirstore: %w", err)
		}
	}
	return nil
}

// writeTemp writes files to a new hidden directory beside name in
// serverDir and returns its path.
func writeTemp(serverDir, name string, files []fileValue) (string, error) {
	tmp := hiddenName(serverDir, name, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return "", fmt.Errorf("dirstore: %w", err)
	}
	for _, f := range files {
		mode := os.FileMode(0o644)
		if f.Secret || pxelator.SecretKey(f.Key) { // a journal of before keys made secrets
			mode = 0o600
		}
		if err := writeFile(filepath.Join(tmp, f.Key), f.Value+"\n", mode); err != nil {
			os.RemoveAll(tmp)
			return "", fmt.Errorf("dirstore: %w", err)
		}
	}
	return tmp, nil
}

// writeFile creates the file p with exactly the mode perm, whatever the
// umask, since the mode tells a secret.
func writeFile(p, content string, perm os.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.WriteString(content)
	return errors.Join(err, f.Chmod(perm), f.Close())
}

// hiddenName returns a fresh name for a hidden directory beside name in
// dir: .<name>.<kind>.<random>.
func hiddenName(dir, name, kind string) string {
	var b [6]byte
	rand.Read(b[:])
	return filepath.Join(dir, "."+name+"."+kind+"."+hex.EncodeToString(b[:]))
}
