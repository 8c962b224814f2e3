#!/usr/bin/env bash
# Speed of the amt client against the amttest emulator, side by side with
# peer clients: curl --digest (one WS-Man Get per process, like
# powerctl status) and amttool (legacy SOAP; "info" makes 6 requests).
# Prints the Go benchmarks, then hyperfine's per-process numbers.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v hyperfine >/dev/null || ! command -v amttool >/dev/null || ! perl -MSOAP::Lite -e 1 2>/dev/null; then
	apt-get install -y -q --no-install-recommends hyperfine amtterm libsoap-lite-perl curl >/dev/null
fi

echo "== go test -bench (in-process client, loopback emulator)"
go test -run '^$' -bench . -benchtime 3000x -count 3 ./amt | grep -E '^Benchmark'

tmp=$(mktemp -d)
trap 'rm -f "$tmp/url"; wait; rm -rf "$tmp"' EXIT
go build -o "$tmp/powerctl" ./cmd/powerctl
AMTTEST_SERVE_FILE="$tmp/url" go test -count 1 -run '^TestServeForBench$' ./amt/amttest >/dev/null &
for _ in $(seq 600); do [ -s "$tmp/url" ] && break; sleep 0.1; done
url=$(cat "$tmp/url")
hostport=${url#http://}
export AMT_USER=admin AMT_PASSWORD='P@ssw0rd'
printf 'user = "admin:P@ssw0rd"\n' > "$tmp/curlrc"

echo "== one process per status reading (challenge + Digest request)"
hyperfine -N --warmup 5 --runs 100 --export-markdown "$tmp/wsman.md" \
	-n "powerctl status (WS-Man)" "$tmp/powerctl -amt $url status" \
	-n "curl --digest WS-Man Get" "curl -sS --digest -K $tmp/curlrc -H 'Content-Type: application/soap+xml' --data-binary @amt/testdata/get-associatedpower.request.xml $url/wsman -o /dev/null" \
	-n "powerctl -legacy status" "$tmp/powerctl -legacy -amt $url status" >/dev/null
cat "$tmp/wsman.md"

echo "== legacy SOAP: amttool info (6 requests) vs powerctl -legacy status (1 request)"
hyperfine -N --warmup 2 --runs 20 --export-markdown "$tmp/legacy.md" \
	-n "amttool info" "amttool $hostport info" \
	-n "powerctl -legacy status" "$tmp/powerctl -legacy -amt $url status" >/dev/null
cat "$tmp/legacy.md"
