#!/usr/bin/env bash
# FSTP reconvergence after cutting a switch's root-port cable, in a ring of
# three switches: all real vde_switch, all ours, and two ours with a real one.
# Runs the interop measurement ROUNDS times (alternating implementations in
# each round) and writes the medians to bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
out=$(mktemp)
trap 'rm -f "$out" "$out.log"' EXIT
for i in $(seq "$ROUNDS"); do
  echo "fstp failover: round $i/$ROUNDS" >&2
  if ! FSTP_REPORT="$out" go test -count=1 -run '^TestFSTPFailover$' ./interop/ >"$out.log" 2>&1; then
    tail -20 "$out.log" >&2
    exit 1
  fi
done
python3 - "$out" "$ROUNDS" <<'PY' | bench/section.py fstp-failover
import sys, statistics, datetime, platform, subprocess
vals = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    vals.setdefault(k, []).append(float(v) * 1000)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("## FSTP reconvergence (ring of 3, root-port cable cut)\n")
print(f"{datetime.date.today()}, {cpu}, {subprocess.getoutput('nproc')} cores, {sys.argv[2]} rounds, medians (min-max).")
print("Time from the cable plug's exit until a broadcast from switch 0's host reaches switch 2's host again")
print("(a probe is sent at once, then every 50 ms; a time under 50 ms means the first probe already got through:")
print("each switch sees the lost endpoint at once and VDE's fast protocol unblocks the alternate link before the probe arrives).\n")
print("| ring | reconvergence ms | vs all real |")
print("|---|---|---|")
base = max(statistics.median(vals["real"]), 1e-6)
for k in ("real", "ours", "mixed"):
    v = vals[k]
    m = statistics.median(v)
    print(f"| {k} | {m:.3f} ({min(v):.3f}-{max(v):.3f}) | {m/base:.2f}x |")
print("\nReproduce: `ROUNDS=5 bench/fstp_failover.sh`.")
PY
echo "wrote the fstp-failover section of bench/RESULTS.md" >&2
