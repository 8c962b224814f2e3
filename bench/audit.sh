#!/usr/bin/env bash
# Audit store benchmarks: insert rate into each backend, events per second
# through the recorder (audit.Batcher) into the embedded store, and the
# latency of "last seen" and "average rtt per IP".
#
#   bench/audit.sh            embedded store at 1M events, FerretDB at 100k
#   LARGE=1 bench/audit.sh    also the embedded store at 10M events (the
#                             load alone takes minutes)
#   MONGO_EVENTS=1000000 bench/audit.sh   FerretDB at 1M (slow: FerretDB
#                             filters in Go, about 2-5k inserts/s here)
#   PXELATOR_MONGO_URI=mongodb://... bench/audit.sh   a real MongoDB
#
# Stores are kept in $BENCH_DIR (default /tmp/pxelator-audit-bench) so a
# second run skips the load. Goals (issue 5, embedded store): >= 100,000
# events/s through the recorder, last seen < 5 ms at 10M events, average
# per IP over 1M events < 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export PXELATOR_BENCH_DIR=${BENCH_DIR:-/tmp/pxelator-audit-bench}
mkdir -p "$PXELATOR_BENCH_DIR"
[ -n "${LARGE:-}" ] && export PXELATOR_BENCH_LARGE=1
export PXELATOR_BENCH_MONGO_EVENTS=${MONGO_EVENTS:-100000}

filter() { grep -E '^(Benchmark|.*loaded)' || true; }

echo "== embedded store (audit/sqlitestore, modernc.org/sqlite)"
go test -run XXX -bench 'Insert' -benchtime 300000x ./audit/sqlitestore/ | filter
go test -run XXX -bench 'Recorder' -benchtime 300000x ./audit/sqlitestore/ | filter
go test -run XXX -bench 'LastSeen|AvgPerIP' -benchtime 20x -timeout 60m ./audit/sqlitestore/ | filter

echo "== MongoDB backend (audit/mongostore) on ${PXELATOR_MONGO_URI:-FerretDB v1.24 over SQLite}"
go test -run XXX -bench 'Insert' -benchtime 20000x ./audit/mongostore/ | filter
go test -run XXX -bench 'LastSeen|AvgPerIP' -benchtime 3x -timeout 60m ./audit/mongostore/ | filter
