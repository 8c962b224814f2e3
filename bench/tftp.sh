#!/usr/bin/env bash
# bench/tftp.sh: package tftpd beside tftpd-hpa, atftpd and dnsmasq, with
# the same clients in the same run:
#   - one 64 MiB file, blksize 1468, lockstep and with windowsize 16 (atftp);
#   - a boot storm: N clients (default 500) fetching a 1 MiB file at once
#     (busybox tftp, blksize 1468, lockstep), counting failed transfers;
#   - HTTP: a 64 MiB kernel with curl, boot.HTTPHandler beside net/http.FileServer.
# All servers and clients run on the loopback of a private network
# namespace, so that dnsmasq can have port 69. Needs root; installs the
# Debian packages it lacks with apt-get. Times are the best of RUNS runs.
#
#   bench/tftp.sh [CLIENTS] [RUNS]
set -euo pipefail
clients=${1:-500}
runs=${2:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "tftp.sh: needs root (network namespace)" >&2; exit 1; }

ns=tftpbench$$
work=$(mktemp -d /tmp/tftpbench.XXXXXX)
chmod 755 "$work"
srvpids=()
cleanup() {
	for p in "${srvpids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${srvpids[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$work" "$repo/.tftpbench$$"
}
trap cleanup EXIT

# Tools. tftpd-hpa conflicts with atftpd as a package: unpack its binary.
missing=()
command -v atftp >/dev/null || missing+=(atftp)
command -v atftpd >/dev/null || missing+=(atftpd)
command -v busybox >/dev/null || missing+=(busybox)
command -v curl >/dev/null || missing+=(curl)
command -v dnsmasq >/dev/null || missing+=(dnsmasq-base)
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
(cd "$work" && apt-get download tftpd-hpa >/dev/null 2>&1 && dpkg -x tftpd-hpa_*.deb hpa)
hpa=$work/hpa/usr/sbin/in.tftpd

# Our server: package tftpd, and HTTP with boot.HTTPHandler and net/http.FileServer.
mkdir "$repo/.tftpbench$$"
cat > "$repo/.tftpbench$$/main.go" <<'EOF'
package main

import (
	"flag"
	"log"
	"log/slog"
	"net/http"

	"github.com/pxelator/pxelator/boot"
	"github.com/pxelator/pxelator/tftpd"
)

func main() {
	root := flag.String("root", ".", "directory to serve")
	tftpAddr := flag.String("tftp", "127.0.0.1:6969", "TFTP address")
	bootAddr := flag.String("http-boot", "", "HTTP address for boot.HTTPHandler")
	stdAddr := flag.String("http-std", "", "HTTP address for net/http.FileServer")
	flag.Parse()
	quiet := slog.New(slog.DiscardHandler)
	go func() {
		log.Fatal(http.ListenAndServe(*bootAddr, &boot.HTTPHandler{Files: &boot.Files{Root: *root}, Logger: quiet}))
	}()
	go func() { log.Fatal(http.ListenAndServe(*stdAddr, http.FileServer(http.Dir(*root)))) }()
	srv := &tftpd.Server{Addr: *tftpAddr, Handler: tftpd.FileServer(*root), Logger: quiet}
	log.Fatal(srv.ListenAndServe())
}
EOF
(cd "$repo" && go build -o "$work/tftpd-go" "./.tftpbench$$")
rm -rf "$repo/.tftpbench$$"

mkdir -p "$work/root" "$work/out"
head -c 64M /dev/urandom > "$work/root/big"
head -c 1M /dev/urandom > "$work/root/small"

ip netns add "$ns"
ip -n "$ns" link set lo up
# An IPv4 address besides loopback: without one, getaddrinfo's
# AI_ADDRCONFIG makes tftpd-hpa fail to resolve 127.0.0.1.
ip -n "$ns" link add bench0 type veth peer name bench1
ip -n "$ns" addr add 10.231.0.1/24 dev bench0
ip -n "$ns" link set bench0 up
ip -n "$ns" link set bench1 up
X=(ip netns exec "$ns")

"${X[@]}" "$work/tftpd-go" -root "$work/root" -tftp 127.0.0.1:6901 -http-boot 127.0.0.1:6911 -http-std 127.0.0.1:6912 &
srvpids+=($!)
# The same with GOMAXPROCS=4: on a 2-core machine, more Ps than cores let
# goroutines run while others are in send system calls.
"${X[@]}" env GOMAXPROCS=4 "$work/tftpd-go" -root "$work/root" -tftp 127.0.0.1:6904 -http-boot 127.0.0.1:6913 -http-std 127.0.0.1:6914 &
srvpids+=($!)
"${X[@]}" "$hpa" -L -a 127.0.0.1:6902 -u root -s "$work/root" &
srvpids+=($!)
"${X[@]}" atftpd --daemon --no-fork --port 6903 --bind-address 127.0.0.1 --user root --group root \
	--maxthread 1000 --logfile "$work/atftpd.log" "$work/root" &
srvpids+=($!)
"${X[@]}" dnsmasq --no-daemon --port=0 --enable-tftp --tftp-root="$work/root" --tftp-max=1000 \
	--listen-address=127.0.0.1 --bind-interfaces --user=root --log-facility="$work/dnsmasq.log" &
srvpids+=($!)

names=(tftpd-go tftpd-go-p4 tftpd-hpa atftpd dnsmasq)
ports=(6901 6904 6902 6903 69)

for p in "${ports[@]}"; do # wait until each server answers
	for _ in $(seq 100); do
		timeout 2 "${X[@]}" atftp -g -r small -l "$work/out/probe" 127.0.0.1 "$p" >/dev/null 2>&1 && break
		sleep 0.1
	done
done

now() { date +%s%N; }
ms() { echo $(( ($2 - $1) / 1000000 )); }

# once MS: one run of a command that writes $work/out/f, checked against
# the file $1; FAIL if it failed.
once() {
	local want=$1; shift
	rm -f "$work/out/f"
	local s; s=$(now)
	if ! "${X[@]}" "$@" >/dev/null 2>&1 || ! cmp -s "$work/out/f" "$want"; then
		echo FAIL; return
	fi
	ms "$s" "$(now)"
}

# keep ARRAY KEY MS: keep the smaller time (FAIL sticks).
keep() {
	local -n a=$1
	if [ "${a[$2]:-}" = FAIL ] || [ "$3" = FAIL ]; then a[$2]=FAIL; return; fi
	if [ -z "${a[$2]:-}" ] || [ "$3" -lt "${a[$2]}" ]; then a[$2]=$3; fi
}

cputicks() { # cputicks PID: CPU time of a process and its reaped children, in clock ticks
	awk '{print $14 + $15 + $16 + $17}' "/proc/$1/stat"
}

storm1() { # storm1 PORT: prints "MS FAILED"
	local port=$1 pids=() failed=0
	rm -rf "$work/out/storm"; mkdir "$work/out/storm"
	local s; s=$(now)
	for i in $(seq "$clients"); do
		"${X[@]}" busybox tftp -g -b 1468 -r small -l "$work/out/storm/$i" 127.0.0.1 "$port" >/dev/null 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
	local d; d=$(ms "$s" "$(now)")
	for i in $(seq "$clients"); do
		cmp -s "$work/out/storm/$i" "$work/root/small" || failed=$((failed + 1))
	done
	echo "$d $failed"
}

# The servers take turns within each run, so that a change in the
# machine's load during the run weighs on all of them alike.
declare -A lock win stm stf stc
storm1 6901 >/dev/null # warm up: page in busybox and the files
for _ in $(seq "$runs"); do
	for i in "${!names[@]}"; do
		n=${names[$i]} p=${ports[$i]}
		keep lock "$n" "$(once "$work/root/big" atftp --option "blksize 1468" -g -r big -l "$work/out/f" 127.0.0.1 "$p")"
		keep win "$n" "$(once "$work/root/big" atftp --option "blksize 1468" --option "windowsize 16" -g -r big -l "$work/out/f" 127.0.0.1 "$p")"
		c0=$(cputicks "${srvpids[$i]}")
		read -r d x < <(storm1 "$p")
		c1=$(cputicks "${srvpids[$i]}")
		keep stm "$n" "$d"
		stf[$n]=$(( ${stf[$n]:-0} + x ))
		stc[$n]=$(( ${stc[$n]:-0} + (c1 - c0) * 1000 / $(getconf CLK_TCK) / runs ))
	done
done
# HTTP: the two handlers take turns, each going first every other run.
declare -A http
for r in $(seq "$runs"); do
	order="6911 6912"
	if ((r % 2 == 0)); then order="6912 6911"; fi
	for p in $order; do
		keep http "$p" "$(once "$work/root/big" curl -sf -o "$work/out/f" "http://127.0.0.1:$p/big")"
	done
done
http_boot=${http[6911]} http_std=${http[6912]}

ratio() { # ratio PEER OURS: how many times faster ours is
	if [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ && $2 -gt 0 ]]; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2fx", a/b}'; else echo -; fi
}
echo
echo "TFTP over loopback, best of $runs; storm: $clients busybox clients x 1 MiB at once (lockstep, blksize 1468),"
echo "failed: failed transfers summed over the $runs storms"
printf "%-11s %14s %14s %14s %8s %16s\n" server "64MiB lockstep" "64MiB window16" "storm" "failed" "server CPU/storm"
for n in "${names[@]}"; do
	printf "%-11s %11s ms %11s ms %11s ms %8s %13s ms\n" "$n" "${lock[$n]}" "${win[$n]}" "${stm[$n]}" "${stf[$n]}" "${stc[$n]}"
done
echo "(server CPU: utime+stime of the server process and its reaped children; tftpd-hpa's"
echo " per-transfer processes are mostly not counted)"
echo
echo "speed-up of tftpd-go (peer time / tftpd-go time):"
for n in "${names[@]:2}"; do
	printf "  vs %-10s lockstep %6s   window16 %6s   storm %6s\n" "$n" \
		"$(ratio "${lock[$n]}" "${lock[tftpd-go]}")" "$(ratio "${win[$n]}" "${win[tftpd-go]}")" "$(ratio "${stm[$n]}" "${stm[tftpd-go]}")"
done
echo "speed-up of tftpd-go with GOMAXPROCS=4:"
for n in "${names[@]:2}"; do
	printf "  vs %-10s lockstep %6s   window16 %6s   storm %6s\n" "$n" \
		"$(ratio "${lock[$n]}" "${lock[tftpd-go-p4]}")" "$(ratio "${win[$n]}" "${win[tftpd-go-p4]}")" "$(ratio "${stm[$n]}" "${stm[tftpd-go-p4]}")"
done
echo
echo "HTTP, 64 MiB with curl, best of $runs: boot.HTTPHandler $http_boot ms, net/http.FileServer $http_std ms ($(ratio "$http_std" "$http_boot"))"
