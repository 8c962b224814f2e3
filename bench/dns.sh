#!/usr/bin/env bash
# bench/dns.sh: queries per second of dnsd against dnsmasq, measured with
# dnsperf in the same run, for A and PTR lookups (mixed) over a store of
# 10,000 machines, while dnsd's store renames a machine every 10 ms.
#
#   bench/dns.sh [SECONDS]        (default 10 s per server)
#
# Environment: MACHINES (10000), CLIENTS (dnsperf -c, 4), MAXQPS (dnsperf
# -Q, 200000), PORT_DNSMASQ (53531), PORT_DNSD (53532).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-10}
machines=${MACHINES:-10000}
clients=${CLIENTS:-4}
maxqps=${MAXQPS:-200000}
port_dnsmasq=${PORT_DNSMASQ:-53531}
port_dnsd=${PORT_DNSD:-53532}

need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v dig >/dev/null || need+=(bind9-dnsutils)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/dnsd-bench" ./bench/dnsd
"$work/dnsd-bench" -n "$machines" -hosts "$work/hosts" -queries "$work/queries"

# wait_ready PORT NAME: until the server answers NAME.
wait_ready() {
	for _ in $(seq 100); do
		if [ -n "$(dig @127.0.0.1 -p "$1" "$2" A +short +time=1 +tries=1 2>/dev/null)" ]; then return 0; fi
		sleep 0.1
	done
	echo "server on port $1 did not answer $2" >&2
	return 1
}

# perf PORT LABEL: runs dnsperf and prints "qps lost".
perf() {
	dnsperf -s 127.0.0.1 -p "$1" -d "$work/queries" -l "$secs" -Q "$maxqps" -c "$clients" >"$work/$2.out" 2>&1
	qps=$(awk '/Queries per second:/ {print $4}' "$work/$2.out")
	lost=$(awk '/Queries lost:/ {print $3}' "$work/$2.out")
	sent=$(awk '/Queries sent:/ {print $3}' "$work/$2.out")
	noerr=$(awk '/Response codes:/ {print}' "$work/$2.out")
	printf '%-8s %10s qps   sent %9s   lost %6s   %s\n' "$2" "$qps" "$sent" "$lost" "$noerr"
	echo "$qps" >"$work/$2.qps"
}

echo "dnsperf -c $clients -Q $maxqps -l $secs, $machines machines, A and PTR mixed ($(nproc) cores)"

dnsmasq --no-daemon --port="$port_dnsmasq" --listen-address=127.0.0.1 --bind-interfaces \
	--no-resolv --no-hosts --addn-hosts="$work/hosts" --cache-size=0 \
	--local=/pxe/ --local=/1.10.in-addr.arpa/ --log-facility=/dev/null &
pids+=($!)
wait_ready "$port_dnsmasq" host-1.pxe
perf "$port_dnsmasq" dnsmasq
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true

"$work/dnsd-bench" -addr "127.0.0.1:$port_dnsd" -n "$machines" -rename 10ms >"$work/dnsd.log" 2>&1 &
pids+=($!)
wait_ready "$port_dnsd" host-1.pxe
perf "$port_dnsd" dnsd
kill "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
grep renames "$work/dnsd.log" || true

awk -v a="$(cat "$work/dnsd.qps")" -v b="$(cat "$work/dnsmasq.qps")" \
	'BEGIN { printf "ratio dnsd/dnsmasq: %.2f\n", a / b }'
