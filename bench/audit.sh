#!/usr/bin/env bash
# Audit store benchmarks on the mixed load (audittest.Mixed: 10,000
# machines' ping, AMT, DHCP, TFTP and syslog events): the insert rate,
# events per second through the recorder (audit.Batcher) at one event per
# document, and the four reports of the original PXElator: last seen of a
# host, the events of one host in a day, the count by (ip, power state)
# and the average rtt per IP. Embedded store at EVENTS (default
# 1000000,10000000), FerretDB at MONGO_EVENTS (default 100000: FerretDB
# filters in Go and inserts a few thousand documents a second here).
# ROUNDS (default 1) repeats the ingest benchmarks.
#
#   PXELATOR_MONGO_URI=mongodb://... bench/audit.sh   a real MongoDB
#
# Stores are kept in $BENCH_DIR (default /tmp/pxelator-audit-bench) so a
# second run skips the load (10M events: about 4 minutes, 3 GB). Goals
# (issue 17): >= 100,000 events/s through the recorder, last seen < 5 ms,
# count and average < 1 s at 10M events.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export PXELATOR_BENCH_DIR=${BENCH_DIR:-/tmp/pxelator-audit-bench}
mkdir -p "$PXELATOR_BENCH_DIR"
export PXELATOR_BENCH_EVENTS=${EVENTS:-1000000,10000000}
export PXELATOR_BENCH_MONGO_EVENTS=${MONGO_EVENTS:-100000}

filter() { grep -E '^(Benchmark|.*loaded)' || true; }

echo "== embedded store (audit/sqlitestore, modernc.org/sqlite)"
for r in $(seq "${ROUNDS:-1}"); do
	echo "-- round $r"
	go test -run XXX -bench 'Insert$|Recorder' -benchtime 300000x ./audit/sqlitestore/ | filter
done
go test -run XXX -bench 'LastSeen|HostDay|CountIPPower|AvgRTT' -benchtime 20x -timeout 60m ./audit/sqlitestore/ | filter

echo "== MongoDB backend (audit/mongostore) on ${PXELATOR_MONGO_URI:-FerretDB v1.24 over SQLite}"
go test -run XXX -bench 'Insert' -benchtime 20000x ./audit/mongostore/ | filter
go test -run XXX -bench 'LastSeen|HostDay|CountIPPower|AvgRTT' -benchtime 3x -timeout 60m ./audit/mongostore/ | filter
