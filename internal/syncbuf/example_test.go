package syncbuf_test

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/pxelator/pxelator/internal/syncbuf"
)

// A Buffer collects the log lines of goroutines for a test to read.
func Example() {
	var out syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { log.Info("hello") })
	}
	wg.Wait()
	fmt.Print(out.String())
	// Output:
	// level=INFO msg=hello
	// level=INFO msg=hello
	// level=INFO msg=hello
}
