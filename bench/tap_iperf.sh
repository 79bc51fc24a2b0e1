#!/usr/bin/env bash
# bench/tap_iperf.sh: kernel TCP (iperf3) between two network namespaces,
# each with a tap plugged into a switch, through govde at MTU 1500, 9000 and
# 65520 and through the original vde2 (vde_switch + vde_plug tap://) at
# 1500, the most it can carry (it stops at 1518-byte frames).
#
#   ns A: tap gvbA 10.78.0.1 ── vde_plug tap:// vde:// ──┐
#                                                         switch
#   ns B: tap gvbB 10.78.0.2 ── vde_plug tap:// vde:// ──┘
#
# govde runs as `vde_switch --nostdin --maxframe 65535` with `vde_plug
# --maxframe 65535` (its taps with the virtio-net offloads, the default;
# GOVDE_TAP_OFFLOAD=0 in the environment measures them without); the
# original as plain `vde_switch` and `vde_plug`. Both switches run in the
# foreground of the script's session (the original's console on a fifo the
# script holds open), never as daemons: a daemon lands in an autogroup of
# its own and is scheduled very differently. Every run starts
# from a fresh switch and fresh taps; in each round every configuration runs
# once, the order alternating between rounds (govde first in odd rounds, the
# original first in even ones). The section it writes into bench/RESULTS.md
# (through bench/section.py, between <!-- tap-iperf --> markers, the rest of
# the file untouched) gives medians over the rounds with [min–max] and every
# run.
#
# Needs root, iproute2, iperf3, python3. Environment (defaults in brackets):
#   ROUNDS [5]  rounds          DUR [5]  seconds per iperf3 run
#   MTUS ["1500 9000 65520"]    govde's MTUs (the original runs at 1500)
#   REAL_SWITCH [/usr/bin/vde_switch]  REAL_PLUG [/usr/bin/vde_plug]
#   SKIP_BUILD=1  use bin/ as it is (otherwise the working tree is built
#                 into a private directory: bin/ is left alone)
#   QUICK=1       ROUNDS=1 DUR=2 (smoke run)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then ROUNDS=${ROUNDS:-1} DUR=${DUR:-2}; fi
ROUNDS=${ROUNDS:-5}
DUR=${DUR:-5}
MTUS=${MTUS:-1500 9000 65520}
REAL_SWITCH=${REAL_SWITCH:-/usr/bin/vde_switch}
REAL_PLUG=${REAL_PLUG:-/usr/bin/vde_plug}

die() { echo "tap_iperf.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, taps)"
for c in ip iperf3 python3; do command -v $c >/dev/null || die "$c is not installed"; done
[ -x "$REAL_SWITCH" ] && [ -x "$REAL_PLUG" ] || die "the original vde_switch/vde_plug are not installed (apt-get install vde2)"

WORK=$(mktemp -d /tmp/govde-tapbench.XXXXXX)
if [ "${SKIP_BUILD:-0}" = 1 ]; then
	OURS=$ROOT/bin
else
	OURS=$WORK/bin
	mkdir -p "$OURS"
	(cd "$ROOT" && go build -trimpath -o "$OURS/vde" ./cmd/vde) || { rm -rf "$WORK"; die "build failed"; }
	ln -s vde "$OURS/vde_switch"
	ln -s vde "$OURS/vde_plug"
fi
[ -x "$OURS/vde_switch" ] && [ -x "$OURS/vde_plug" ] || { rm -rf "$WORK"; die "$OURS/vde_switch or vde_plug missing (make build)"; }
NSA=gvbA$$ NSB=gvbB$$
PIDS=()
FIFO=$WORK/console
mkfifo "$FIFO"
exec 3<>"$FIFO" # held open: the original switch's console never ends
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)

# stop_all ends the processes this script started, by their pids.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # stop_all
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_all
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NSA"
ip netns add "$NSB"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up

wait_for() { # wait_for DESCRIPTION COMMAND...
	local what=$1; shift
	for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	die "timed out waiting for $what"
}

# run IMPL MTU: one fresh switch, two plugs, one iperf3 run; prints
# "Gbit/s retransmits".
run() {
	local impl=$1 mtu=$2 sw plug dir=$WORK/sw swargs=() plugargs=()
	if [ "$impl" = ours ]; then
		sw=$OURS/vde_switch plug=$OURS/vde_plug
		swargs=(--nostdin --maxframe 65535) plugargs=(--maxframe 65535)
	else
		sw=$REAL_SWITCH plug=$REAL_PLUG
	fi
	rm -rf "$dir"
	# Both switches run in the foreground of this script's session (never
	# as daemons: with kernel.sched_autogroup_enabled=1 a daemon's setsid
	# puts it in an autogroup of its own and it gets a very different share
	# of the CPUs). Ours needs no console (--nostdin); the original reads its
	# console from stdin, which is a fifo the script holds open (so the
	# switch sees no end of input), and both are stopped by pid.
	if [ "$impl" = ours ]; then
		"$sw" "${swargs[@]}" -s "$dir" </dev/null >/dev/null 2>&1 &
		PIDS+=($!)
	else
		"$sw" -s "$dir" <"$FIFO" >/dev/null 2>&1 &
		PIDS+=($!)
	fi
	wait_for "the switch" test -S "$dir/ctl"
	ip netns exec "$NSA" "$plug" "${plugargs[@]}" tap://gvbA "vde://$dir" </dev/null >/dev/null 2>&1 &
	PIDS+=($!)
	ip netns exec "$NSB" "$plug" "${plugargs[@]}" tap://gvbB "vde://$dir" </dev/null >/dev/null 2>&1 &
	PIDS+=($!)
	wait_for "tap A" ip -n "$NSA" link show gvbA
	wait_for "tap B" ip -n "$NSB" link show gvbB
	ip -n "$NSA" addr add 10.78.0.1/24 dev gvbA
	ip -n "$NSB" addr add 10.78.0.2/24 dev gvbB
	ip -n "$NSA" link set gvbA mtu "$mtu" up
	ip -n "$NSB" link set gvbB mtu "$mtu" up
	ip netns exec "$NSB" iperf3 -s -1 -B 10.78.0.2 >/dev/null 2>&1 &
	local srv=$!
	PIDS+=($srv)
	sleep 0.5
	local json=$WORK/iperf.json
	if ! ip netns exec "$NSA" iperf3 -c 10.78.0.2 -t "$DUR" -J >"$json" 2>/dev/null; then
		echo "iperf3 failed ($impl, MTU $mtu)" >&2
		echo "0 0"
	else
		python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["end"]
print("%.3f %d" % (r["sum_received"]["bits_per_second"] / 1e9, r["sum_sent"].get("retransmits", 0)))' "$json"
	fi
	stop_all
	# The taps go with their plugs; wait so the next run can reuse the names.
	wait_for "tap A to go" sh -c "! ip -n $NSA link show gvbA"
	wait_for "tap B to go" sh -c "! ip -n $NSB link show gvbB"
}

CONFIGS=()
for m in $MTUS; do CONFIGS+=("ours $m"); done
CONFIGS+=("real 1500")
RUNS=$WORK/runs.txt
: >"$RUNS"
for r in $(seq "$ROUNDS"); do
	order=("${CONFIGS[@]}")
	if [ $((r % 2)) = 0 ]; then # the original first
		order=("real 1500")
		for m in $MTUS; do order+=("ours $m"); done
	fi
	for c in "${order[@]}"; do
		set -- $c
		run "$1" "$2" >"$WORK/res" # not in a subshell: cleanup must see PIDS
		res=$(cat "$WORK/res")
		echo "round $r: $1 MTU $2: $res" >&2
		echo "$r $1 $2 $res" >>"$RUNS"
	done
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
WALL=$(( $(date +%s) - START ))
GOVDE_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then GOVDE_REV="$GOVDE_REV + uncommitted changes"; fi
REAL_VER=$(dpkg-query -W -f '${Version}' vde2 2>/dev/null || echo unknown)
PLUG_VER=$(dpkg-query -W -f '${Version}' vdeplug 2>/dev/null || echo unknown)

case "${GOVDE_TAP_OFFLOAD:-}" in
0|off|no|false) OFFLOAD="without the offloads (GOVDE_TAP_OFFLOAD=0)" ;;
*) OFFLOAD="with the virtio-net offloads (TSO/checksum from the kernel cut into ordinary frames, segments merged back for the other kernel: the wire carries frames of at most MTU+14 bytes)" ;;
esac
SECTION=$WORK/section.md
python3 - "$RUNS" "$ROUNDS" "$DUR" "$QUICK" "$LOAD_BEFORE" "$LOAD_AFTER" "$WALL" "$GOVDE_REV" "$REAL_VER" "$PLUG_VER" "$(uname -r)" "$(nproc)" "$OFFLOAD" "$ROOT/bench" >"$SECTION" <<'PY'
import statistics, sys, datetime
runs, rounds, dur, quick, lb, la, wall, rev, realver, plugver, kernel, ncpu, offload = sys.argv[1:14]
data = {}
for line in open(runs):
    r, impl, mtu, gbps, retr = line.split()
    data.setdefault((impl, int(mtu)), []).append((int(r), float(gbps), int(retr)))
print("## Taps: kernel TCP through the switch (iperf3)")
print()
print("Generated by `bench/tap_iperf.sh`. Two network namespaces, each with a tap plugged into the switch by `vde_plug tap:// vde://`; "
      "iperf3 TCP from A to B for %ss per run, a fresh switch and fresh taps for every run. govde: `vde_switch --nostdin --maxframe 65535`, "
      "`vde_plug --maxframe 65535`, taps %s; the original vde2 (vde_switch + vde_plug) runs at MTU 1500 only: it drops frames over 1518 bytes. "
      "Both switches run in the foreground of the script's session (the original's console on a fifo the script holds open), "
      "neither as a daemon: with kernel.sched_autogroup_enabled=1 a daemon gets an autogroup of its own and a very different share of the CPUs." % (dur, offload))
print()
if quick == "1":
    print("> **QUICK smoke run**: too few runs to draw conclusions.")
    print()
print("|  |  |")
print("|---|--:|")
print("| Date | %s |" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
print("| Kernel | `%s` |" % kernel)
print("| CPUs | %s (shared with other work: read the ranges) |" % ncpu)
print("| govde | %s |" % rev)
print("| Original | vde_switch from vde2 %s, vde_plug from vdeplug %s |" % (realver, plugver))
print("| Rounds | %s; every configuration once per round, the order alternating |" % rounds)
print("| Load average (1/5/15 min) | before: %s; after: %s |" % (lb, la))
print("| Wall time | %s s |" % wall)
print()
print("Figures are medians over the rounds with [min–max]; *retransmits* = TCP segments the sender retransmitted (frames lost on the way).")
print()
print("| Switch | MTU | Gbit/s (median) | [min–max] | retransmits (median) | vs original at 1500 |")
print("|---|--:|--:|--:|--:|--:|")
base = data.get(("real", 1500))
basemed = statistics.median([g for _, g, _ in base]) if base else None
keys = sorted(data, key=lambda k: (k[0] != "real", k[1]))
for impl, mtu in keys:
    v = data[(impl, mtu)]
    g = [x for _, x, _ in v]
    med = statistics.median(g)
    ratio = "%.2f×" % (med / basemed) if basemed else "n/a"
    name = "original vde2" if impl == "real" else "govde"
    print("| %s | %d | %.2f | [%.2f–%.2f] | %d | %s |" % (name, mtu, med, min(g), max(g), statistics.median([x for _, _, x in v]), ratio))
print()
print("<details><summary>Every run</summary>")
print()
print("| Round | Switch | MTU | Gbit/s | retransmits |")
print("|--:|---|--:|--:|--:|")
for line in open(runs):
    r, impl, mtu, gbps, retr = line.split()
    print("| %s | %s | %s | %s | %s |" % (r, "original" if impl == "real" else "govde", mtu, gbps, retr))
print()
print("</details>")

# Issue 9's goals, for the summary table at the top of RESULTS.md.
sys.path.insert(0, sys.argv[14])
import goals
def gm(impl, mtu, i):
    v = data.get((impl, mtu))
    return statistics.median([x[i] for x in v]) if v else None
rows = []
o, r = gm("ours", 1500, 1), gm("real", 1500, 1)
if o is not None and r:
    rows.append({"figure": "Kernel TCP through taps, MTU 1500: Gbit/s", "ours": "%.2f" % o, "ref": "%.2f" % r, "ref_name": "real",
                 "ratio": "%.2f" % (o / r), "goal": "≥ 2× real", "met": "**yes**" if o >= 2 * r else "**no**"})
    ot, rt = gm("ours", 1500, 2), gm("real", 1500, 2)
    rows.append({"figure": "Kernel TCP through taps, MTU 1500: retransmits per run", "ours": "%d" % ot, "ref": "%d" % rt, "ref_name": "real",
                 "ratio": "%.4f" % (ot / rt) if rt else "–", "goal": "≤ 1/10 of real", "met": "**yes**" if ot * 10 <= rt else "**no**"})
o = gm("ours", 65520, 1)
if o is not None:
    rows.append({"figure": "Kernel TCP through taps, MTU 65520 (the original cannot): Gbit/s", "ours": "%.2f" % o, "ref": "–",
                 "ratio": "–", "goal": "≥ 5", "met": "**yes**" if o >= 5 else "**no**"})
goals.save("tap", "bench/tap_iperf.sh", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           goals.machine(), rows, quick=quick == "1")
PY

python3 "$ROOT/bench/section.py" tap-iperf <"$SECTION"
echo "tap_iperf.sh: section tap-iperf written to bench/RESULTS.md" >&2
