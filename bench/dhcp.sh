#!/bin/bash
# bench/dhcp.sh: full DORA exchanges per second, drops and latency (average
# and 99th percentile), measured with Kea's perfdhcp against the reference
# server (cmd/pxelator, whose store is on disk under -conf and whose audit
# is on by default), Kea (memfile leases, persisted) and dnsmasq (lease
# file), one after the other in the same run and the same network
# namespace setup:
#
#   srv namespace: veth 10.77.0.1/16, the server under test
#   cli namespace: veth 10.77.255.254/16, perfdhcp -4 -l <veth> (broadcast)
#
# Environment: RATE (default 10000 exchanges/s asked) or RATES (a list of
# rates, run in turn, to find the highest each server answers with under
# 0.1 % drops), CLIENTS (distinct MACs, default 10000), SECS (default 15),
# SERVERS (default "pxelator kea dnsmasq"), ROUNDS (default 1: runs of
# each server at each rate, taken in turn; the ratios use the last),
# PXELATOR (a built binary; default: go build), STORE_DIR (where each
# server's directory goes: its store or lease file; default: a fresh ext4
# file system with its journal, in an image file on this disk; see below).
# PERFDHCP_OUT (a path prefix: each run's full perfdhcp report is kept
# there, with its latency extremes and deviation), PXELATOR_FLAGS (more flags for pxelator, e.g. "-audit none"),
# PROFILE (a directory: each pxelator run writes a CPU profile there,
# pxelator.<run>.pprof, for go tool pprof). Needs root. Installs kea-admin (perfdhcp), kea-dhcp4-server and
# dnsmasq-base with apt-get when they are missing.
set -euo pipefail
PXELATOR_FLAGS=${PXELATOR_FLAGS:-}

RATE=${RATE:-10000}
RATES=${RATES:-$RATE}
CLIENTS=${CLIENTS:-10000}
SECS=${SECS:-15}
SERVERS=${SERVERS:-"pxelator kea dnsmasq"}
ROUNDS=${ROUNDS:-1}
cd "$(dirname "$0")/.."

need=()
command -v perfdhcp >/dev/null || need+=(kea-admin)
command -v kea-dhcp4 >/dev/null || need+=(kea-dhcp4-server)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
if ((${#need[@]})); then
	apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

# perfdhcp shares the processors with the server under test: while it
# waits for one, replies queue in its socket buffer. A 4 MiB default
# receive buffer (for the run, for every socket: net.core.rmem_default is
# not per namespace) keeps them from being dropped there, and counted
# against the server. k-client below shows what was dropped anyway.
rmem_default=$(sysctl -n net.core.rmem_default)
sysctl -qw net.core.rmem_default=$((4 << 20))

tmp=$(mktemp -d /tmp/bench-dhcp.XXXXXX)
id=$$
srv=bdhs$id cli=bdhc$id vsrv=bvs$id vcli=bvc$id
server_pid= store_mnt=
cleanup() {
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	ip netns del "$srv" 2>/dev/null || true
	ip netns del "$cli" 2>/dev/null || true
	if [[ -n $store_mnt ]]; then umount "$store_mnt" 2>/dev/null || true; fi
	if [[ -n ${STORE_DIR:-} && -n ${store:-} ]]; then rm -rf "$store"; fi
	rm -rf "$tmp"
	sysctl -qw net.core.rmem_default="$rmem_default"
}
trap cleanup EXIT

# The servers' files go to a fresh ext4 file system (journaled, as mkfs
# makes it) in an image file on this disk, unless STORE_DIR says where.
# A fresh one, because on ext4 without a journal (this testbed's root
# file system) creating a file costs a scan of every inode deleted in its
# block group in the last 1-6 minutes, and the clean-up of a test run or
# of the last benchmark leaves tens of thousands: that would measure the
# runs before, not the server.
if [[ -n ${STORE_DIR:-} ]]; then
	store=$(mktemp -d "$STORE_DIR/bench-dhcp.XXXXXX")
else
	truncate -s 4G "$tmp/store.img"
	mkdir "$tmp/store"
	if mkfs.ext4 -q -F "$tmp/store.img" && mount -o loop "$tmp/store.img" "$tmp/store"; then
		store_mnt=$tmp/store
	else
		echo "bench/dhcp.sh: no loop-mounted ext4; the servers' files go to $tmp" >&2
	fi
	store=$tmp/store
fi

pxelator=${PXELATOR:-}
if [[ -z $pxelator ]]; then
	pxelator=$tmp/pxelator.bin
	go build -o "$pxelator" ./cmd/pxelator
fi

ip netns add "$srv"
ip netns add "$cli"
ip link add "$vsrv" netns "$srv" type veth peer name "$vcli" netns "$cli"
ip -n "$srv" addr add 10.77.0.1/16 dev "$vsrv"
ip -n "$cli" addr add 10.77.255.254/16 dev "$vcli"
for x in "$srv $vsrv" "$srv lo" "$cli $vcli" "$cli lo"; do
	set -- $x
	ip -n "$1" link set "$2" up
done

# start_server NAME RUN: starts the server in the srv namespace, with a
# fresh directory. Directories are removed only at the end: on ext4
# without a journal, creating files among many just deleted ones is slow.
# pxelator runs without its limit of new machines per interface
# (-dhcp-new-burst 0): the peers have none, and perfdhcp brings 10,000 at once;
# perfdhcp sends as a relay (giaddr is its address), which pxelator answers
# only from the relays it is told of (-dhcp-relays). The monitor would ping
# the 10,000 new machines and the scheduler look at them: both are off, so
# that the server's CPU per exchange is DHCP's (and its audit's).
start_server() {
	local dir=$store/$1.$2
	mkdir -p "$dir"
	case $1 in
	pxelator)
		ip netns exec "$srv" "$pxelator" -conf "$dir/conf" -state "$dir/state" -server-ip 10.77.0.1 \
			-dhcp :67 -iface "$vsrv" -dhcp-subnet 10.77.0.0/16 -range 10.77.0.100-10.77.250.250 \
			-dhcp-new-burst 0 -dhcp-relays 10.77.255.254/32 -ping off -schedule off \
			-root "$dir/tftpboot" -profiles "$dir/profiles" \
			${PROFILE:+-cpuprofile "$PROFILE/pxelator.$2.pprof"} $PXELATOR_FLAGS \
			>"$dir/log" 2>&1 &
		;;
	kea)
		cat >"$dir/kea.json" <<-JSON
			{"Dhcp4": {
			  "interfaces-config": {"interfaces": ["$vsrv"], "dhcp-socket-type": "raw"},
			  "lease-database": {"type": "memfile", "persist": true, "name": "$dir/leases.csv", "lfc-interval": 0},
			  "valid-lifetime": 3600,
			  "subnet4": [{"id": 1, "subnet": "10.77.0.0/16", "pools": [{"pool": "10.77.0.100 - 10.77.250.250"}]}],
			  "loggers": [{"name": "kea-dhcp4", "severity": "WARN", "output_options": [{"output": "$dir/log"}]}]
			}}
		JSON
		KEA_PIDFILE_DIR=$dir KEA_LOCKFILE_DIR=$dir ip netns exec "$srv" kea-dhcp4 -c "$dir/kea.json" >"$dir/out" 2>&1 &
		;;
	dnsmasq)
		ip netns exec "$srv" dnsmasq --no-daemon --port=0 --interface="$vsrv" --bind-interfaces \
			--dhcp-authoritative --no-ping --dhcp-leasefile="$dir/leases" \
			--dhcp-range=10.77.0.100,10.77.250.250,255.255.0.0,1h >"$dir/log" 2>&1 &
		;;
	esac
	server_pid=$!
	for _ in $(seq 100); do
		if ip netns exec "$srv" ss -H -uapn 2>/dev/null | grep -q ':67 '; then return 0; fi
		if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
		sleep 0.1
	done
	if [[ $1 == kea ]] && kill -0 "$server_pid" 2>/dev/null; then sleep 1; return 0; fi # raw socket: not in ss -u
	echo "$1 did not start:" >&2
	cat "$dir"/log "$dir"/out 2>/dev/null >&2 || true
	return 1
}

# rcvbuf_errors NS: UDP datagrams the kernel dropped for full socket
# buffers in namespace NS, so far.
rcvbuf_errors() {
	ip netns exec "$1" awk '/^Udp:/ {if (!h) {for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1} else print $c}' /proc/net/snmp
}

# stop_server stops the server, sets ticks to the processor time it used,
# its shutdown included (what it writes out when told to stop: read every
# 20 ms until it has exited, since bash reaps it at once), and writes out
# what it left in the page cache, so that the next server does not pay
# for it.
stop_server() {
	kill "$server_pid" 2>/dev/null || true
	local t state
	ticks=0
	for _ in $(seq 3000); do
		read -r state t < <(awk '{print $3, $14 + $15}' "/proc/$server_pid/stat" 2>/dev/null) || break
		ticks=$t
		[[ $state == Z ]] && break
		sleep 0.02
	done
	wait "$server_pid" 2>/dev/null || true
	server_pid=
	sync
}

# p99s FILE: the 99th percentile of the delays, in ms, of the DISCOVER-OFFER
# and of the REQUEST-ACK exchanges that perfdhcp -x t timed in FILE (the
# answered ones: a dropped exchange has none).
p99s() {
	awk '/^\*\*\*Timestamps for packets/ {k++; next} k && /^sent \/ received:/ {printf "%d %.3f\n", k, ($6 - $4) * 1000}' "$1" |
		sort -k1,1n -k2,2g |
		awk '{n[$1]++; v[$1, n[$1]] = $2} END {for (k = 1; k <= 2; k++) {i = int(n[k] * 0.99 + 0.5); if (i < 1) i = 1; printf "%s ", (n[k] ? v[k, i] : "?")}}'
}

printf '%-10s %8s %10s %10s %10s %10s %10s %10s %10s %8s %8s %8s\n' server asked "DORA/s" "drops D-O" "drops R-A" "avg D-O ms" "avg R-A ms" "p99 D-O ms" "p99 R-A ms" "k-server" "k-client" "CPU us"
declare -A rates clean cpus p99do p99ra
run=0
for r in $RATES; do
	for s in $(for _ in $(seq "$ROUNDS"); do echo $SERVERS; done); do
		run=$((run + 1))
		start_server "$s" "$run"
		out=$tmp/$s.$run.perfdhcp
		c0=$(rcvbuf_errors "$cli")
		# -x t: the send and receive times of every answered exchange, for the 99th percentile.
		ip netns exec "$cli" perfdhcp -4 -x t -l "$vcli" -r "$r" -R "$CLIENTS" -p "$SECS" >"$out" 2>&1 || true
		# Datagrams the kernel dropped at the server's port-67 socket (full buffer).
		kdrops=$(ip netns exec "$srv" awk '$2 ~ /:0043$/ {d += $NF} END {print d + 0}' /proc/net/udp)
		# and at perfdhcp's sockets (a client starved of processor time)
		cdrops=$(($(rcvbuf_errors "$cli") - c0))
		stop_server
		if [[ -n ${PERFDHCP_OUT:-} ]]; then cp "$out" "$PERFDHCP_OUT.$s.$run"; fi
		rate=$(awk '/^Rate:/ {print $2; exit}' "$out")
		drops=($(awk '/drops ratio:/ {print $3}' "$out"))
		delays=($(awk '/avg delay:/ {print $3}' "$out"))
		p99=($(p99s "$out"))
		rates[$s]=${rate:-0} p99do[$s]=${p99[0]:-?} p99ra[$s]=${p99[1]:-?}
		# The highest asked rate answered with under 0.1 % drops both ways.
		if awk -v a="${drops[0]:-100}" -v b="${drops[1]:-100}" 'BEGIN{exit !(a < 0.1 && b < 0.1)}'; then
			if ((r > ${clean[$s]:-0})); then clean[$s]=$r; fi
		fi
		# The server's processor time per exchange, start-up included.
		cpu=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v r="${rate:-0}" -v d="$SECS" 'BEGIN{if (r > 0) printf "%.0f", t / hz * 1e6 / (r * d); else print "?"}')
		cpus[$s]=$cpu
		printf '%-10s %8s %10s %9s%% %9s%% %10s %10s %10s %10s %8s %8s %8s\n' "$s" "$r" "${rate:-?}" "${drops[0]:-?}" "${drops[1]:-?}" "${delays[0]:-?}" "${delays[1]:-?}" "${p99[0]:-?}" "${p99[1]:-?}" "$kdrops" "$cdrops" "$cpu"
		if [[ $s == pxelator ]]; then # its own counters
			grep -h 'dhcp: stopped' "$store/$s.$run/log" | sed 's/^.*msg="dhcp: stopped"/  /' || true
		fi
	done
done
echo "(perfdhcp -4 -x t -l <veth> -r ASKED -R $CLIENTS -p $SECS; drops are of DISCOVER-OFFER and REQUEST-ACK;"
echo " p99: the 99th percentile of the delays of the answered exchanges;"
echo " k-server, k-client: datagrams the kernel dropped at the server's and at perfdhcp's sockets;"
echo " CPU us: the server's processor time per exchange, its start, its shutdown and the new machines included;"
echo " each pxelator run starts with an empty store)"
for s in $SERVERS; do
	echo "$s: highest asked rate with under 0.1 % drops: ${clean[$s]:-none of $RATES}"
done
if [[ -n ${rates[pxelator]:-} ]]; then
	for s in kea dnsmasq; do
		if [[ -n ${rates[$s]:-} ]] && awk "BEGIN{exit !(${rates[$s]} > 0)}"; then
			awk -v a="${rates[pxelator]}" -v b="${rates[$s]}" -v s="$s" -v r="${RATES##* }" \
				-v ca="${cpus[pxelator]}" -v cb="${cpus[$s]}" -v da="${p99do[pxelator]}" -v db="${p99do[$s]}" -v ra="${p99ra[pxelator]}" -v rb="${p99ra[$s]}" '
				function ratio(x, y) { return (x + 0 > 0 && y + 0 > 0) ? sprintf("%.2fx", x / y) : "?" }
				BEGIN{printf "pxelator/%s at %s/s asked: %.2fx the exchanges, %s the CPU per exchange, %s the p99 D-O, %s the p99 R-A\n", s, r, a/b, ratio(ca, cb), ratio(da, db), ratio(ra, rb)}'
		fi
	done
fi
