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
# Issue 9's fabric goal: on ONE core (-cpu 1), 64-byte frames in 32-frame
# batches, >= 10 M frames/s and 0 allocations per frame.
one=$(mktemp)
trap 'rm -f "$out" "$one"' EXIT
go test -run '^$' -bench 'Fabric/unicast/size=64/batch=32$' -cpu 1 -benchmem -benchtime "${BENCHTIME:-1s}" -count 5 ./bench/ | tee "$one" >&2
python3 - "$one" <<'PY'
import statistics, sys, time
sys.path.insert(0, "bench")
import goals
fps, allocs = [], []
for line in open(sys.argv[1]):
    if not line.startswith("BenchmarkFabric/"):
        continue
    f = line.split()
    for i, tok in enumerate(f):
        if tok == "frames/s":
            fps.append(float(f[i - 1]))
        if tok == "allocs/op":
            allocs.append(float(f[i - 1]))
if not fps:
    sys.exit("gobench.sh: no BenchmarkFabric result")
m = statistics.median(fps)
date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
goals.save("fabric", "bench/gobench.sh", date, goals.machine(), [
    {"figure": "In-process fabric, one core (`-cpu 1`), 64 B unicast, 32-frame batches: frames/s (median of %d)" % len(fps),
     "ours": "{:,.0f}".format(m), "ref": "–", "ratio": "–", "goal": "≥ 10,000,000", "met": "**yes**" if m >= 10e6 else "**no**"},
    {"figure": "In-process fabric: heap allocations per frame", "ours": "%g" % max(allocs), "ref": "–", "ratio": "–",
     "goal": "0", "met": "**yes**" if max(allocs) == 0 else "**no**"},
])
PY
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
  echo 'The fabric goal on one core (`-cpu 1`, 5 runs):'
  echo
  echo '```'
  grep -E '^Benchmark' "$one"
  echo '```'
  echo
  echo 'Reproduce: `bench/gobench.sh` (part of `make bench`).'
} | bench/section.py go-benchmarks
