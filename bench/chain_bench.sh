#!/usr/bin/env bash
# bench/chain_bench.sh: throughput of a dpipe chain of three wirefilter
# stages with every filter idle (no loss, delay or limit), govde against the
# original vde2 tools, in the same run:
#
#   dpipe SOURCE = wirefilter = wirefilter = wirefilter = SINK
#
# govde runs its own dpipe and wirefilter, the original /usr/bin/dpipe and
# /usr/bin/wirefilter; SOURCE and SINK are the same small programs for both.
# SOURCE writes frames of one size in vdestream framing (2-byte length) to
# its stdout as fast as the chain takes them for DUR seconds, then exits;
# the chain collapses on EOF and SINK reports how many whole frames it got
# and the time from its first byte to EOF. Every frame must arrive.
#
# In each round every (size, implementation) runs once on a fresh chain,
# the order alternating between rounds (govde first in odd rounds). The
# section it writes into bench/RESULTS.md (through bench/section.py, between
# <!-- dpipe-chain --> markers, the rest of the file untouched) gives
# medians over the rounds with [min–max], the ratio ours/real, the
# per-round ratios, and every run.
#
# Frame sizes stay at or below 1521 bytes: the original wirefilter drops
# longer frames on streams (see COMPATIBILITY.md).
#
# Environment (defaults in brackets):
#   ROUNDS [5]  rounds            DUR [3]  seconds of sending per run
#   SIZES ["64 512 1500"]         frame sizes (bytes, without the length)
#   STAGES [3]                    wirefilter stages in the chain
#   REAL_DPIPE [/usr/bin/dpipe]   REAL_WIREFILTER [/usr/bin/wirefilter]
#   SKIP_BUILD=1  use bin/ as it is (otherwise the working tree is built
#                 into a private directory: bin/ is left alone)
#   QUICK=1       ROUNDS=1 DUR=1 (smoke run; the section says so)
#   NO_WRITE=1    print the section instead of writing RESULTS.md
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then ROUNDS=${ROUNDS:-1} DUR=${DUR:-1}; fi
ROUNDS=${ROUNDS:-5}
DUR=${DUR:-3}
SIZES=${SIZES:-64 512 1500}
STAGES=${STAGES:-3}
REAL_DPIPE=${REAL_DPIPE:-/usr/bin/dpipe}
REAL_WF=${REAL_WIREFILTER:-/usr/bin/wirefilter}

die() { echo "chain_bench.sh: $*" >&2; exit 1; }
command -v python3 >/dev/null || die "python3 is needed"
[ -x "$REAL_DPIPE" ] && [ -x "$REAL_WF" ] || die "the original dpipe/wirefilter are not installed (apt-get install vdeplug vde2)"
for s in $SIZES; do [ "$s" -ge 14 ] && [ "$s" -le 1521 ] || die "frame size $s outside 14..1521"; done

WORK=$(mktemp -d /tmp/govde-chainbench.XXXXXX)
chmod 700 "$WORK"
if [ "${SKIP_BUILD:-0}" = 1 ]; then
	OURS=$ROOT/bin
else
	OURS=$WORK/bin
	mkdir -p "$OURS"
	(cd "$ROOT" && go build -trimpath -o "$OURS/vde" ./cmd/vde) || { rm -rf "$WORK"; die "build failed"; }
	ln -s vde "$OURS/dpipe"
	ln -s vde "$OURS/wirefilter"
fi
[ -x "$OURS/dpipe" ] && [ -x "$OURS/wirefilter" ] || { rm -rf "$WORK"; die "$OURS/dpipe or wirefilter missing (make build)"; }

CHAIN_PID=
# cleanup ends the chain this script started (dpipe by its pid: its
# process group holds every stage), then removes the work directory.
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$CHAIN_PID" ] && kill -0 "$CHAIN_PID" 2>/dev/null; then
		kill -TERM "$CHAIN_PID" 2>/dev/null || true
		wait "$CHAIN_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The source: frames of SIZE bytes (a broadcast header, a counter) in
# vdestream framing, written in 64 KiB chunks for DUR seconds; it reports
# how many frames it wrote. The sink counts bytes until EOF.
cat >"$WORK/source.py" <<'EOF'
import os, struct, sys, time
size, dur, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
rec = struct.pack(">H", size) + b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + bytes(size - 14)
per = max(1, (64 << 10) // len(rec))
chunk = rec * per
fd, sent, end = 1, 0, time.monotonic() + dur
while time.monotonic() < end:
    for _ in range(16):
        os.write(fd, chunk)
    sent += 16 * per
open(out, "w").write("%d\n" % sent)
os.close(fd)
EOF
cat >"$WORK/sink.py" <<'EOF'
import os, sys, time
size, out = int(sys.argv[1]), sys.argv[2]
got, first = 0, None
while True:
    b = os.read(0, 1 << 20)
    if not b:
        break
    if first is None:
        first = time.monotonic()
    got += len(b)
elapsed = time.monotonic() - first if first else 0
open(out, "w").write("%d %d %.6f\n" % (got // (size + 2), got % (size + 2), elapsed))
EOF

# run IMPL SIZE ROUND: one chain; appends "impl size round frames elapsed
# sent" to runs.txt.
run() {
	local impl=$1 size=$2 round=$3 dp wf i args=()
	if [ "$impl" = ours ]; then dp=$OURS/dpipe wf=$OURS/wirefilter; else dp=$REAL_DPIPE wf=$REAL_WF; fi
	for i in $(seq "$STAGES"); do args+=("=" "$wf"); done
	rm -f "$WORK/src.out" "$WORK/sink.out"
	"$dp" python3 "$WORK/source.py" "$size" "$DUR" "$WORK/src.out" "${args[@]}" = python3 "$WORK/sink.py" "$size" "$WORK/sink.out" \
		2>>"$WORK/stderr.txt" &
	CHAIN_PID=$!
	local waited=0
	while kill -0 "$CHAIN_PID" 2>/dev/null; do
		sleep 0.2
		waited=$((waited + 1))
		if [ "$waited" -gt $(((DUR + 30) * 5)) ]; then
			kill -TERM "$CHAIN_PID" 2>/dev/null || true
			echo "chain_bench.sh: $impl $size B: the chain did not end" >&2
			break
		fi
	done
	wait "$CHAIN_PID" 2>/dev/null || true
	CHAIN_PID=
	[ -s "$WORK/sink.out" ] && [ -s "$WORK/src.out" ] || die "$impl $size B: no result (see $WORK/stderr.txt)"
	read -r frames partial elapsed <"$WORK/sink.out"
	read -r sent <"$WORK/src.out"
	echo "$impl $size $round $frames $elapsed $sent $partial" >>"$WORK/runs.txt"
	printf 'round %d  %-4s %5d B: %9d frames in %6.3f s (%d sent)\n' "$round" "$impl" "$size" "$frames" "$elapsed" "$sent" >&2
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
: >"$WORK/runs.txt"
for r in $(seq "$ROUNDS"); do
	for s in $SIZES; do
		if [ $((r % 2)) = 1 ]; then order="ours real"; else order="real ours"; fi
		for impl in $order; do run "$impl" "$s" "$r"; done
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
WALL=$(($(date +%s) - START))

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo " + uncommitted changes" || true)
python3 - "$WORK/runs.txt" <<EOF >"$WORK/section.md"
import statistics, sys
runs = [l.split() for l in open(sys.argv[1]) if l.strip()]
sizes = [int(s) for s in "$SIZES".split()]
def fps(r): return int(r[3]) / float(r[4]) if float(r[4]) > 0 else 0.0
print("## dpipe chain of $STAGES idle wirefilter stages (bench/chain_bench.sh)")
print()
if "$QUICK" == "1":
    print("> **QUICK smoke run** (1 round, ${DUR}s per run): too few runs to draw conclusions.")
    print()
print("\`dpipe SOURCE = wirefilter = wirefilter = wirefilter = SINK\`, every filter idle; govde's dpipe and wirefilter against the original \`$REAL_DPIPE\` and \`$REAL_WF\` (vde2 \`$(dpkg-query -W -f='${Version}' vde2 2>/dev/null || echo unknown)\`), the same Python SOURCE (vdestream frames for ${DUR} s, as fast as the chain takes them) and SINK (counts until EOF) for both. Generated by \`bench/chain_bench.sh\`; rerun it, do not edit.")
print()
print("| Machine and run |  |")
print("|---|---|")
print("| Date | $(date -u '+%Y-%m-%d %H:%M UTC') |")
print("| Kernel / CPUs | \`$(uname -r)\` / $(nproc) |")
print("| Go | $(go version | sed 's/^go version //') |")
print("| govde | $OURS (govde $COMMIT$DIRTY) |")
print("| Rounds | $ROUNDS; each size runs once per implementation per round, the order alternating, each on a fresh chain |")
print("| Load average before / after | $LOAD_BEFORE / $LOAD_AFTER |")
print("| Wall time | $WALL s |")
print()
print("Figures are **medians over the rounds** with [min–max]; *ratio* = median(ours) / median(real); *per-round ratios* = range of ours/real within each round. Lost = frames written by SOURCE that never reached SINK (must be 0).")
print()
print("| Frame size | ours frames/s | real frames/s | ratio | per-round ratios | ours Mbit/s | real Mbit/s | lost (ours / real) |")
print("|--:|--:|--:|--:|--:|--:|--:|--:|")
for s in sizes:
    o = [r for r in runs if r[0] == "ours" and int(r[1]) == s]
    e = [r for r in runs if r[0] == "real" and int(r[1]) == s]
    mo, me = statistics.median(map(fps, o)), statistics.median(map(fps, e))
    per = []
    for rd in sorted({r[2] for r in o}):
        a = [fps(r) for r in o if r[2] == rd]; b = [fps(r) for r in e if r[2] == rd]
        if a and b and b[0] > 0: per.append(a[0] / b[0])
    rng = lambda v: "[%s–%s]" % (f"{min(v):,.0f}", f"{max(v):,.0f}")
    lost = lambda rs: sum(int(r[5]) - int(r[3]) for r in rs)
    print(f"| {s} B | {mo:,.0f} {rng(list(map(fps, o)))} | {me:,.0f} {rng(list(map(fps, e)))} | {mo / me:.2f} | {min(per):.2f}–{max(per):.2f} | {mo * (s + 2) * 8 / 1e6:,.0f} | {me * (s + 2) * 8 / 1e6:,.0f} | {lost(o)} / {lost(e)} |")
print()
print("The original's losses are the frames still in a pipe when a stage sees POLLHUP at the end of the run: it exits without reading them (see COMPATIBILITY.md, wirefilter). govde reads to EOF.")
print()
print("<details><summary>Every run</summary>")
print()
print("| round | impl | size | frames received | seconds | frames/s | frames sent |")
print("|--:|---|--:|--:|--:|--:|--:|")
for r in runs:
    print(f"| {r[2]} | {r[0]} | {r[1]} | {int(r[3]):,} | {float(r[4]):.3f} | {fps(r):,.0f} | {int(r[5]):,} |")
print()
print("</details>")
EOF
if [ "${NO_WRITE:-0}" = 1 ]; then
	cat "$WORK/section.md"
else
	python3 "$ROOT/bench/section.py" dpipe-chain <"$WORK/section.md"
	echo "chain_bench.sh: wrote the dpipe-chain section of bench/RESULTS.md" >&2
fi
