#!/usr/bin/env bash
# Go benchmarks of the hot paths (-benchmem), written to the go-benchmarks
# section of bench/RESULTS.md. BENCHTIME (default 1s) and COUNT (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pkgs="./bench/ ./frames/ ./transports/stream/ ./transports/dgram/ ./actors/filter/"
echo "go benchmarks: $pkgs" >&2
go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-1s}" -count "${COUNT:-3}" $pkgs | tee "$out" >&2
{
  echo "## Go benchmarks of the hot paths"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(go version | cut -d' ' -f3)."
  echo "\`BenchmarkFabric\` runs the switching core in-process (batches into the fabric actor, per-port batches out to port actors whose endpoints count frames): one op is one frame; 0 allocs/op is the zero-allocation proof for the forwarding path."
  echo
  echo '```'
  grep -E '^(Benchmark|goos|goarch|pkg|cpu)' "$out"
  echo '```'
  echo
  echo 'Reproduce: `bench/gobench.sh` (part of `make bench`).'
} | bench/section.py go-benchmarks
