#!/usr/bin/env bash
# Cost of monitoring 10,000 machines at a 10 s interval: the monitor pings
# 10,000 addresses of 127.0.0.0/8 (all answer on Linux) through one ICMP
# socket for INTERVALS intervals (default 6) after one of warm-up, and
# prints the CPU seconds per interval and the memory of the process.
#
# Run as root: both sockets are measured in a network namespace of this
# script, where net.ipv4.ping_group_range (a per-namespace sysctl) allows
# the unprivileged datagram socket; the raw socket sees every ICMP packet,
# its own requests to loopback included.
#
#	bench/monitor.sh [INTERVAL [INTERVALS]]     default 10s 6
set -euo pipefail
cd "$(dirname "$0")/.."
interval=${1:-10s}
intervals=${2:-6}

ns="pxbench-monitor-$$"
tmp=$(mktemp -d)
trap 'ip netns del "$ns" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go test -c -o "$tmp/monitor.test" ./monitor
ip netns add "$ns"
ip -n "$ns" link set lo up
ip netns exec "$ns" sh -c 'echo 0 2147483647 > /proc/sys/net/ipv4/ping_group_range'

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
for network in udp4 ip4:icmp; do
	echo "== socket $network, 10,000 machines, interval $interval, $intervals intervals"
	ip netns exec "$ns" env PXELATOR_BENCH_INTERVAL="$interval" PXELATOR_BENCH_NETWORK="$network" \
		"$tmp/monitor.test" -test.run '^$' -test.bench 'Monitor10k' -test.benchtime "${intervals}x" |
		awk '/^Benchmark/ {
			name = $1; sub(/-[0-9]+$/, "", name)
			for (i = 3; i < NF; i += 2) v[$(i+1)] = $i
			printf "%-34s %8.3f CPU s/interval (%5.2f %% of a core)  %6.0f replies/interval  %s goroutines  RSS %6.1f MB  heap %5.1f MB\n",
				name, v["cpu-s/interval"], v["cpu-%"], v["replies/interval"], v["goroutines"], v["rss-MB"], v["heap-MB"]
		}'
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
