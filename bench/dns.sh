#!/usr/bin/env bash
# bench/dns.sh: queries per second of dnsd beside the authoritative servers
# NSD and Knot and the forwarder dnsmasq, measured with dnsperf in one run,
# the servers taking turns round after round, for A and PTR lookups (mixed)
# over the same 10,000 machines. While dnsperf runs, dnsd's store renames
# a machine every 10 ms; the others serve static zones (a rename needs a
# reload there: its time, from the signal to the new name answering, is
# measured and printed for each).
#
#   bench/dns.sh [SECONDS]        (default 10 s per server and round)
#
# Environment: ROUNDS (2), SERVERS ("dnsd nsd knot dnsmasq"), MACHINES
# (10000), CLIENTS (dnsperf -c, 4), THREADS (dnsperf -T, 2), MAXQPS
# (dnsperf -Q, 400000), RELOADS (reloads timed per server, 5), PORT (first
# of four ports, 53531).
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-10}
rounds=${ROUNDS:-2}
servers=${SERVERS:-"dnsd nsd knot dnsmasq"}
machines=${MACHINES:-10000}
clients=${CLIENTS:-4}
threads=${THREADS:-2}
maxqps=${MAXQPS:-400000}
reloads=${RELOADS:-5}
port0=${PORT:-53531}

need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v dig >/dev/null || need+=(bind9-dnsutils)
command -v nsd >/dev/null || need+=(nsd)
command -v knotd >/dev/null || need+=(knot)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/dnsd-bench" ./bench/dnsd
"$work/dnsd-bench" -n "$machines" -hosts "$work/hosts" -queries "$work/queries"
mkdir -p "$work/zones"
"$work/dnsd-bench" -n "$machines" -zones "$work/zones" -moving moving-0 -serial 1

port_of() {
	case $1 in
	dnsd) echo "$port0" ;; nsd) echo $((port0 + 1)) ;; knot) echo $((port0 + 2)) ;; dnsmasq) echo $((port0 + 3)) ;;
	esac
}

cat >"$work/nsd.conf" <<EOF
server:
	ip-address: 127.0.0.1
	port: $(port_of nsd)
	server-count: $(nproc)
	zonesdir: "$work/zones"
	database: ""
	zonelistfile: "$work/nsd.zonelist"
	xfrdfile: "$work/nsd.xfrd"
	xfrdir: "$work"
	pidfile: "$work/nsd.pid"
	username: ""
	chroot: ""
	logfile: "$work/nsd.log"
remote-control:
	control-enable: no
zone:
	name: pxe
	zonefile: pxe.zone
zone:
	name: 1.10.in-addr.arpa
	zonefile: 1.10.in-addr.arpa.zone
EOF
mkdir -p "$work/knot"
cat >"$work/knot.conf" <<EOF
server:
    rundir: "$work/knot"
    listen: 127.0.0.1@$(port_of knot)
    udp-workers: $(nproc)
log:
  - target: $work/knot.log
    any: warning
database:
    storage: "$work/knot"
template:
  - id: default
    storage: "$work/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: pxe
    file: pxe.zone
  - domain: 1.10.in-addr.arpa
    file: 1.10.in-addr.arpa.zone
EOF

# start NAME: starts the server NAME in the background.
start() {
	local port
	port=$(port_of "$1")
	case $1 in
	dnsd) "$work/dnsd-bench" -addr "127.0.0.1:$port" -n "$machines" -rename 10ms >"$work/dnsd.log" 2>&1 & ;;
	nsd) nsd -d -c "$work/nsd.conf" >>"$work/nsd.out" 2>&1 & ;;
	knot) knotd -c "$work/knot.conf" >>"$work/knot.out" 2>&1 & ;;
	dnsmasq)
		dnsmasq --no-daemon --port="$port" --listen-address=127.0.0.1 --bind-interfaces \
			--no-resolv --no-hosts --addn-hosts="$work/hosts" --cache-size=0 \
			--local=/pxe/ --local=/1.10.in-addr.arpa/ --log-facility=/dev/null >>"$work/dnsmasq.out" 2>&1 &
		;;
	esac
	pid=$!
	wait_answer "$port" host-1.pxe 10.1.0.1
}

stop() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=""
}

# wait_answer PORT NAME ADDR: until the server answers NAME with ADDR.
wait_answer() {
	for _ in $(seq 2000); do
		if [ "$(dig @127.0.0.1 -p "$1" "$2" A +short +time=1 +tries=1 2>/dev/null)" = "$3" ]; then return 0; fi
		sleep 0.005
	done
	echo "server on port $1 did not answer $2 with $3" >&2
	return 1
}

# now_ms: milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# reload NAME: renames the extra machine in the zone files, has the server
# reload them, and prints the milliseconds until the new name answers.
serial=1
reload() {
	serial=$((serial + 1))
	"$work/dnsd-bench" -n "$machines" -zones "$work/zones" -moving "moving-$serial" -serial "$serial"
	local t0 ip
	ip=$(awk -v n="$machines" 'BEGIN { printf "10.1.%d.%d", int(n / 256), n % 256 }')
	t0=$(now_ms)
	case $1 in
	nsd) kill -HUP "$(cat "$work/nsd.pid")" ;;
	knot) knotc -c "$work/knot.conf" zone-reload pxe >/dev/null ;;
	dnsmasq) kill -HUP "$pid" ;; # rereads --addn-hosts, which does not hold the extra machine: not timed
	esac
	wait_answer "$(port_of "$1")" "moving-$serial.pxe" "$ip"
	echo $(($(now_ms) - t0))
}

# cputicks PID: CPU time (user and system, in clock ticks) of PID and its
# descendants (NSD serves from child processes).
cputicks() {
	local total=0 p
	for p in $1 $(descendants "$1"); do
		[ -r "/proc/$p/stat" ] || continue
		# utime and stime, counted after the command name, which may hold spaces
		total=$((total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
	done
	echo "$total"
}
descendants() {
	local c
	for c in $(pgrep -P "$1"); do echo "$c"; descendants "$c"; done
}

# perf NAME ROUND: runs dnsperf against NAME and prints a result line:
# queries per second, lost, and the server's CPU time per query.
perf() {
	local out=$work/$1.$2.out
	local c0 c1
	c0=$(cputicks "$pid")
	dnsperf -s 127.0.0.1 -p "$(port_of "$1")" -d "$work/queries" -l "$secs" -Q "$maxqps" -c "$clients" -T "$threads" >"$out" 2>&1
	c1=$(cputicks "$pid")
	local qps lost sent rcodes cpu
	qps=$(awk '/Queries per second:/ {printf "%.0f", $4}' "$out")
	lost=$(awk '/Queries lost:/ {print $3}' "$out")
	sent=$(awk '/Queries sent:/ {print $3}' "$out")
	rcodes=$(awk '/Response codes:/ {$1 = $2 = ""; print}' "$out")
	cpu=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$sent" 'BEGIN { if (n > 0) printf "%.2f", t / hz / n * 1e6 }')
	printf 'round %d  %-8s %10s qps   sent %9s   lost %6s   server CPU %5s us/query  %s\n' "$2" "$1" "$qps" "$sent" "$lost" "$cpu" "$rcodes"
	echo "$2 $1 $qps $lost $cpu" >>"$work/results"
}

echo "dnsperf -c $clients -T $threads -Q $maxqps -l $secs, $machines machines, A and PTR mixed; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
	# The servers take turns; each round starts with the next one.
	set -- $servers
	for _ in $(seq $(((r - 1) % $#))); do set -- "${@:2}" "$1"; done
	for s in "$@"; do
		start "$s"
		perf "$s" "$r"
		stop
		if [ "$s" = dnsd ]; then grep renames "$work/dnsd.log" | sed 's/^/          /' || true; fi
	done
done

echo "== a rename: time from the reload signal to the new name answering (ms; $reloads reloads of $machines names)"
for s in nsd knot; do
	case " $servers " in *" $s "*) ;; *) continue ;; esac
	start "$s"
	times=()
	for _ in $(seq "$reloads"); do times+=("$(reload "$s")"); done
	stop
	echo "$s: ${times[*]}"
done
echo "dnsd: none needed: the store's rename is answered by the next query (a rename every 10 ms during its runs above)"

echo "== ratios dnsd / best of nsd and knot, per round (queries lost in brackets)"
awk '
	{ qps[$1, $2] = $3; lost[$1, $2] = $4; cpu[$1, $2] = $5; if ($1 > rounds) rounds = $1 }
	END {
		for (r = 1; r <= rounds; r++) {
			best = 0; bn = ""
			if (qps[r, "nsd"] > best) { best = qps[r, "nsd"]; bn = "nsd" }
			if (qps[r, "knot"] > best) { best = qps[r, "knot"]; bn = "knot" }
			if (best == 0 || qps[r, "dnsd"] == "") continue
			printf "round %d: dnsd %.0f qps (%d lost) / %s %.0f qps (%d lost) = %.2f; CPU per query dnsd / %s = %.2f", r, qps[r, "dnsd"], lost[r, "dnsd"], bn, best, lost[r, bn], qps[r, "dnsd"] / best, bn, (cpu[r, bn] > 0 ? cpu[r, "dnsd"] / cpu[r, bn] : 0)
			if (qps[r, "dnsmasq"] != "") printf "; dnsd / dnsmasq = %.2f", qps[r, "dnsd"] / qps[r, "dnsmasq"]
			printf "\n"
		}
	}' "$work/results"
