package journal_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pxelator/pxelator/dirstore/internal/journal"
)

// A change is durable, and handed on, once Append returns; after a crash
// Read gives back what the log holds.
func Example() {
	dir, _ := os.MkdirTemp("", "journal")
	defer os.RemoveAll(dir)
	type change struct{ Key, Value string }
	path := filepath.Join(dir, ".journal")

	log, err := journal.Open(path, func(c change) { fmt.Println("durable:", c.Key, c.Value) })
	if err != nil {
		fmt.Println(err)
		return
	}
	log.Append(change{"hostname", "kiosk-01"})
	log.Append(change{"profile", "debian"})
	log.Close() // a crash: the changes were not applied elsewhere

	log, _ = journal.Open[change](path, nil)
	defer log.Close()
	changes, torn, _ := log.Read(nil)
	fmt.Println("to replay:", changes, "torn ends:", len(torn))
	// Output:
	// durable: hostname kiosk-01
	// durable: profile debian
	// to replay: [{hostname kiosk-01} {profile debian}] torn ends: 0
}
