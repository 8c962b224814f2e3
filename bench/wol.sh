#!/usr/bin/env bash
# Speed of sending a magic packet: powerctl -wol against Debian's
# wakeonlan (Perl), both to a UDP port on loopback where nothing listens
# (no network traffic leaves the machine), plus the in-process benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v hyperfine >/dev/null || ! command -v wakeonlan >/dev/null; then
	apt-get install -y -q --no-install-recommends hyperfine wakeonlan >/dev/null
fi

echo "== go test -bench (in-process, UDP to loopback)"
go test -run '^$' -bench . -benchtime 20000x -count 3 ./wol | grep -E '^Benchmark'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/powerctl" ./cmd/powerctl
echo "== one process per packet"
hyperfine -N --warmup 10 --runs 200 --export-markdown "$tmp/wol.md" \
	-n "powerctl -wol" "$tmp/powerctl -wol 00:11:22:33:44:55 -broadcast 127.0.0.1 -port 40009 on" \
	-n "wakeonlan" "wakeonlan -i 127.0.0.1 -p 40009 00:11:22:33:44:55" >/dev/null
cat "$tmp/wol.md"
