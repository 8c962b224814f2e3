package boot

import (
	"log/slog"
	"sync"
	"time"
)

// Limits of the missing-file log: a file is named at most once per
// missingEvery, and at most missingNames names are remembered at once, so
// that a client asking for random names in a loop costs a bounded map and
// a few lines, never a line per packet.
const (
	missingEvery = 10 * time.Minute
	missingNames = 1024
)

// missingLog logs the files clients asked for that the boot root lacks.
// Its zero value is ready to use.
type missingLog struct {
	mu         sync.Mutex
	last       map[string]time.Time // when each name was last logged
	suppressed int                  // names not logged because the map was full
}

// log logs name, missing from root, unless it was logged within
// missingEvery. A name that Loaders knows is logged with the package that
// ships it and where the package installs it.
func (ml *missingLog) log(log *slog.Logger, root, name string, now time.Time) {
	ml.mu.Lock()
	if t, ok := ml.last[name]; ok && now.Sub(t) < missingEvery {
		ml.mu.Unlock()
		return
	}
	if ml.last == nil {
		ml.last = make(map[string]time.Time)
	}
	if len(ml.last) >= missingNames {
		for n, t := range ml.last {
			if now.Sub(t) >= missingEvery {
				delete(ml.last, n)
			}
		}
	}
	if len(ml.last) >= missingNames {
		ml.suppressed++
		ml.mu.Unlock()
		return
	}
	ml.last[name] = now
	suppressed := ml.suppressed
	ml.suppressed = 0
	ml.mu.Unlock()

	attrs := []any{"file", clip(name), "root", root}
	if suppressed > 0 {
		attrs = append(attrs, "not_logged", suppressed)
	}
	if l, ok := LoaderFor(name); ok {
		attrs = append(attrs, "package", l.Package, "installs", l.Path)
		log.Warn("boot: a client asked for a file the boot root lacks; install the package and copy the file into the root (the reference server copies it at start)", attrs...)
		return
	}
	log.Warn("boot: a client asked for a file the boot root lacks", attrs...)
}
