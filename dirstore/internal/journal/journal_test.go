package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// rec is the record of the tests.
type rec struct {
	N int    `json:"n"`
	S string `json:"s,omitempty"`
}

// checkRec rejects negative numbers, as a user rejects a record that
// decodes but makes no sense.
func checkRec(r rec) error {
	if r.N < 0 {
		return errors.New("negative")
	}
	return nil
}

func openLog(t *testing.T, path string, durable func(rec)) *Log[rec] {
	t.Helper()
	l, err := Open(path, durable)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func numbers(rs []rec) []int {
	var ns []int
	for _, r := range rs {
		ns = append(ns, r.N)
	}
	return ns
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// locked runs f with l.mu held.
func locked[T any](l *Log[rec], f func() T) T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return f()
}

// TestGroupCommit: the appends that arrive while a group is under way
// wait for it and are then written together, with one write and one
// sync; every record is handed on once, in the order of the file, before
// its Append returns.
func TestGroupCommit(t *testing.T) {
	const n = 50
	path := filepath.Join(t.TempDir(), "wal")
	release := make(chan struct{})
	var (
		mu       sync.Mutex
		handed   []int
		inFileAt = map[int]int{} // records in the file when each was handed on
		l        *Log[rec]
	)
	l = openLog(t, path, func(r rec) {
		if r.N == 0 {
			<-release // hold the first group up
		}
		appended := locked(l, func() int { return l.appended })
		mu.Lock()
		defer mu.Unlock()
		handed = append(handed, r.N)
		inFileAt[r.N] = appended
	})
	errs := make(chan error, n+1)
	go func() { errs <- l.Append(rec{N: 0}) }()
	eventually(t, "the first group's write", func() bool { return locked(l, func() int { return l.appended }) == 1 })
	for i := 1; i <= n; i++ {
		go func() {
			err := l.Append(rec{N: i})
			mu.Lock()
			if !slices.Contains(handed, i) {
				err = fmt.Errorf("Append(%d) returned before its record was handed on", i)
			}
			mu.Unlock()
			errs <- err
		}()
	}
	eventually(t, "the appends to queue up", func() bool { return locked(l, func() int { return len(l.waiters) }) == n })
	close(release)
	for range n + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if inFileAt[0] != 1 {
		t.Errorf("first group wrote %d records, want 1", inFileAt[0])
	}
	for i := 1; i <= n; i++ {
		if inFileAt[i] != n+1 {
			t.Fatalf("record %d was handed on with %d records in the file, want %d: the %d waiting appends were not one group", i, inFileAt[i], n+1, n)
		}
	}
	got, torn, err := l.Read(checkRec)
	if err != nil || torn != nil {
		t.Fatalf("Read: %v, torn %v", err, torn)
	}
	if !slices.Equal(numbers(got), handed) {
		t.Errorf("file order %v, handed on in order %v", numbers(got), handed)
	}
	slices.Sort(handed)
	for i, v := range handed {
		if v != i {
			t.Fatalf("records handed on: %v, want each of 0..%d once", handed, n)
		}
	}
	if l.Pending() != n+1 {
		t.Errorf("Pending() = %d, want %d", l.Pending(), n+1)
	}
}

// TestTornEnd: what follows the last whole record a crash left is
// ignored and reported, and so is a record that decodes but that the
// check rejects, with everything after it.
func TestTornEnd(t *testing.T) {
	tests := []struct {
		name, tail string
	}{
		{"clean", ""},
		{"cut in a record", `{"n":3,"s":"ab`},
		{"cut before the newline", `{"n":3}`},
		{"zeros of a size extended without its data", "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{"rejected by the check", `{"n":-1}` + "\n" + `{"n":4}` + "\n"},
		{"garbage line", "garbage\n" + `{"n":4}` + "\n"},
		{"empty line", "\n" + `{"n":4}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "wal")
			l := openLog(t, path, nil)
			for i := 1; i <= 2; i++ {
				if err := l.Append(rec{N: i, S: "x"}); err != nil {
					t.Fatal(err)
				}
			}
			l.Close()
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(tt.tail)
			f.Close()
			got, torn, err := openLog(t, path, nil).Read(checkRec)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(numbers(got), []int{1, 2}) {
				t.Errorf("records = %v, want [1 2]", numbers(got))
			}
			var want []Torn
			if tt.tail != "" {
				want = []Torn{{Path: path, Bytes: len(tt.tail)}}
			}
			if !slices.Equal(torn, want) {
				t.Errorf("torn = %v, want %v", torn, want)
			}
		})
	}
}

// TestRotate: Rotate sets the file aside between two groups while
// writers go on: when paused runs, every record in the file set aside has
// been handed on, and no other; the new file takes the rest.
func TestRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal")
	var (
		mu     sync.Mutex
		handed int
	)
	l := openLog(t, path, func(rec) {
		mu.Lock()
		handed++
		mu.Unlock()
	})
	for i := range 10 {
		if err := l.Append(rec{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	const writers, each = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := l.Append(rec{N: 1000 + w*each + i}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	atPause := -1
	if err := l.Rotate(func() {
		mu.Lock()
		atPause = handed
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	b, err := os.ReadFile(path + AsideSuffix)
	if err != nil {
		t.Fatal(err)
	}
	aside, ignored := decode(b, checkRec)
	if ignored != 0 || len(aside) != atPause {
		t.Errorf("file set aside holds %d records (%d bytes ignored); %d were handed on when paused ran", len(aside), ignored, atPause)
	}
	total := 10 + writers*each
	if p := l.Pending(); p != total-len(aside) {
		t.Errorf("Pending() after Rotate = %d, want the %d records of the new file", p, total-len(aside))
	}
	all, torn, err := l.Read(checkRec)
	if err != nil || torn != nil {
		t.Fatalf("Read: %v, torn %v", err, torn)
	}
	if len(all) != total || !slices.Equal(all[:len(aside)], aside) {
		t.Errorf("Read returned %d records, the set-aside ones first: %v; want %d", len(all), all[:min(len(all), 3)], total)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new file: %v, %v; want mode 0600", fi, err)
	}
	if !l.Aside() {
		t.Error("Aside() = false after Rotate")
	}
	if err := l.Rotate(func() {}); err == nil {
		t.Error("second Rotate with a file set aside succeeded")
	}
	if err := l.RemoveAside(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + AsideSuffix); !errors.Is(err, os.ErrNotExist) || l.Aside() {
		t.Errorf("after RemoveAside: %v, Aside() = %v", err, l.Aside())
	}
	if err := l.Rotate(func() {}); err != nil {
		t.Errorf("Rotate after RemoveAside: %v", err)
	}
	// A file set aside is found again on open.
	l.Close()
	if again := openLog(t, path, nil); !again.Aside() {
		t.Error("Open does not see the file set aside")
	}
}

// TestReset: Reset empties the file; appends go on after it.
func TestReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal")
	l := openLog(t, path, nil)
	for i := range 3 {
		if err := l.Append(rec{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 || l.Pending() != 0 {
		t.Fatalf("after Reset: %v, %v, Pending() = %d; want an empty file", fi, err, l.Pending())
	}
	if err := l.Append(rec{N: 7}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := l.Read(checkRec); !slices.Equal(numbers(got), []int{7}) {
		t.Errorf("records after Reset and Append = %v, want [7]", numbers(got))
	}
}

// TestAppendAfterClose: Append and Rotate fail after Close; what was
// appended before is read back by the next open.
func TestAppendAfterClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal")
	l := openLog(t, path, nil)
	if err := l.Append(rec{N: 1}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(rec{N: 2}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Append after Close = %v, want os.ErrClosed", err)
	}
	if err := l.Rotate(func() { t.Error("paused ran after Close") }); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Rotate after Close = %v, want os.ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	got, _, err := openLog(t, path, nil).Read(checkRec)
	if err != nil || !slices.Equal(numbers(got), []int{1}) {
		t.Errorf("records after reopening = %v, %v; want [1]", numbers(got), err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file: %v, %v; want mode 0600", fi, err)
	}
}
