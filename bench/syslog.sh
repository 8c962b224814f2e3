#!/usr/bin/env bash
# bench/syslog.sh: sustained syslog messages per second over TCP and UDP,
# PXElator's syslogd (every message into the audit Batcher) against rsyslog
# (every message into a file), same load, same run.
#
# Load: loggen from syslog-ng (unpacked from the syslog-ng-core .deb, which
# conflicts with rsyslog) and a Go generator (syslogd/internal/syslogbench)
# for rates loggen cannot reach. Both servers get a 4 MiB UDP receive buffer.
#
#   bench/syslog.sh            # DUR=5 seconds per run
#   DUR=10 UDP_RATES="50000 100000 200000" bench/syslog.sh
#
# A rate is messages received divided by the time from the start of the
# load to the last message received; loss is (sent - received) / sent.
# The last lines are the pxelator server's own counters: what it handled,
# and the UDP datagrams it dropped (queue full) and the kernel dropped
# (socket buffer full, SO_RXQ_OVFL). The machine's load average is printed
# before and after: on a shared machine it moves every number.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
DUR=${DUR:-5}
UDP_RATES=${UDP_RATES:-"20000 50000 100000 150000 200000"}
SIZE=${SIZE:-200}

work=$(mktemp -d /tmp/syslog-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

# --- tools -------------------------------------------------------------
if ! command -v rsyslogd >/dev/null; then
	apt-get install -y -q --no-install-recommends rsyslog >/dev/null
fi
LOGGEN_DIR=${LOGGEN_DIR:-/tmp/syslog-bench-loggen}
loggen=""
if [ ! -x "$LOGGEN_DIR/root/usr/bin/loggen" ]; then
	mkdir -p "$LOGGEN_DIR"
	(cd "$LOGGEN_DIR" && apt-get download syslog-ng-core >/dev/null 2>&1 && dpkg -x syslog-ng-core_*.deb root) || true
fi
if [ -x "$LOGGEN_DIR/root/usr/bin/loggen" ]; then
	loggen="$LOGGEN_DIR/root/usr/bin/loggen"
else
	echo "loggen unavailable (apt-get download syslog-ng-core failed): Go generator only" >&2
fi
go build -o "$work/syslogbench" ./syslogd/internal/syslogbench

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Hltun "sport = :$p")" ]; then echo "$p"; return; fi
	done
}
now() { date +%s.%N; }

# --- servers -----------------------------------------------------------
OURS=$(free_port)
"$work/syslogbench" serve -addr "127.0.0.1:$OURS" -stats "$work/ours.stats" 2>"$work/ours.log" &
pids+=($!)

RS=$(free_port)
mkdir -p "$work/rs"
cat >"$work/rsyslog.conf" <<CONF
global(workDirectory="$work/rs")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="$RS" rcvbufSize="4m")
input(type="imtcp" address="127.0.0.1" port="$RS")
action(type="omfile" file="$work/rsyslog.out" template="RSYSLOG_FileFormat")
CONF
rsyslogd -N1 -f "$work/rsyslog.conf" >/dev/null 2>&1
rsyslogd -n -f "$work/rsyslog.conf" -i "$work/rsyslogd.pid" >"$work/rsyslog.log" 2>&1 &
pids+=($!)

count_ours() { if [ -f "$work/ours.stats" ]; then awk '{print $2}' "$work/ours.stats"; else echo 0; fi; }
count_rsyslog() { if [ -f "$work/rsyslog.out" ]; then wc -l <"$work/rsyslog.out"; else echo 0; fi; }
for i in $(seq 100); do
	[ -f "$work/ours.stats" ] && [ -f "$work/rsyslog.out" ] && break
	sleep 0.1
done

# measure COUNTFN LABEL GENERATOR... : runs the generator, waits until
# the count has not moved for 1 s, prints one result line.
measure() {
	local countfn=$1 label=$2
	shift 2
	local before after t0 tlast c stable sent
	before=$($countfn)
	t0=$(now)
	"$@" >"$work/gen.out" 2>&1 || { cat "$work/gen.out" >&2; return 1; }
	after=$($countfn); tlast=$(now); stable=0
	while [ "$stable" -lt 10 ]; do
		sleep 0.1
		c=$($countfn)
		if [ "$c" != "$after" ]; then after=$c; tlast=$(now); stable=0; else stable=$((stable + 1)); fi
	done
	# loggen: "average rate = ... count=N, ..."; syslogbench: "sent N in ..."
	sent=$(grep -o 'count=[0-9]*' "$work/gen.out" | tail -1 | cut -d= -f2 || true)
	[ -n "$sent" ] || sent=$(awk '/^sent/ {print $2}' "$work/gen.out")
	awk -v label="$label" -v sent="$sent" -v got=$((after - before)) -v t0="$t0" -v t1="$tlast" 'BEGIN {
		loss = sent > 0 ? (sent - got) / sent * 100 : 0
		printf "%-44s sent %8d  received %8d  %9.0f msg/s  loss %6.2f %%\n", label, sent, got, got / (t1 - t0), loss
	}' | tee -a "$work/results"
}

lg() { # loggen with the TESTBED environment
	SYSLOGNG_PREFIX="$LOGGEN_DIR/root/usr" LD_LIBRARY_PATH="$LOGGEN_DIR/root/usr/lib/syslog-ng" "$loggen" "$@"
}

echo "syslog bench: ${DUR}s per run, ${SIZE}-byte messages, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== TCP, as fast as the sender goes"
for t in "pxelator:count_ours:$OURS" "rsyslog:count_rsyslog:$RS"; do
	IFS=: read -r name fn port <<<"$t"
	measure "$fn" "tcp gen   $name" "$work/syslogbench" gen -net tcp -addr "127.0.0.1:$port" -rate 0 -duration "${DUR}s" -size "$SIZE"
done
if [ -n "$loggen" ]; then
	for t in "pxelator:count_ours:$OURS" "rsyslog:count_rsyslog:$RS"; do
		IFS=: read -r name fn port <<<"$t"
		measure "$fn" "tcp loggen $name (rate 200000, 5424 octet)" lg --inet --stream --syslog-proto --rate 200000 --interval "$DUR" --size "$SIZE" 127.0.0.1 "$port"
	done
fi
echo "== UDP at fixed rates"
for rate in $UDP_RATES; do
	for t in "pxelator:count_ours:$OURS" "rsyslog:count_rsyslog:$RS"; do
		IFS=: read -r name fn port <<<"$t"
		measure "$fn" "udp gen   $name rate $rate" "$work/syslogbench" gen -net udp -addr "127.0.0.1:$port" -rate "$rate" -duration "${DUR}s" -size "$SIZE"
	done
done
if [ -n "$loggen" ]; then
	for t in "pxelator:count_ours:$OURS" "rsyslog:count_rsyslog:$RS"; do
		IFS=: read -r name fn port <<<"$t"
		measure "$fn" "udp loggen $name (rate 50000)" lg --inet --dgram --rate 50000 --interval "$DUR" --size "$SIZE" 127.0.0.1 "$port"
	done
fi

echo "== ratios pxelator / rsyslog (received msg/s)"
awk '{
	key = $0; sub(/ (pxelator|rsyslog)/, "", key); sub(/ +sent.*/, "", key)
	for (i = 1; i <= NF; i++) if ($(i+1) == "msg/s") r = $i
	if ($0 ~ / pxelator/) ours[key] = r; else peer[key] = r
	if (!(key in seen)) { seen[key] = 1; order[++n] = key }
} END {
	for (i = 1; i <= n; i++) { k = order[i]; if (peer[k] > 0) printf "%-44s %6.2f\n", k, ours[k] / peer[k] }
}' "$work/results"
echo "== pxelator server counters"
cat "$work/ours.stats"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
