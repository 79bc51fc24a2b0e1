#!/usr/bin/env bash
# bench/cryptcab_bench.sh: what encryption costs a cable. Kernel TCP
# (iperf3) runs between two network namespaces; each namespace has a tap
# joined by the real `vde_plug tap://NAME` to one of two govde switches;
# the two switches are joined, one cable at a time, by:
#
#   cryptcab     govde vde_cryptcab, pre-shared key, over 127.0.0.1
#                (X25519 handshake, ChaCha20-Poly1305 per frame)
#   udp-ours     govde vde_plug SW udp://... on each side (plain UDP), when
#                this build has udp:// (otherwise the row says so)
#   udp-real     the real vde_plug (vdeplug4) udp:// on each side
#   stream       govde dpipe vde_plug SWA = vde_plug SWB (plain 2-byte
#                length framing over pipes)
#
# Every round runs every cable once, the order rotating from round to round;
# each run is an iperf3 test of DUR seconds from A to B (after one omitted
# warm-up second). The script writes
# its own section of bench/RESULTS.md (between the cryptcab-bench markers,
# replacing an older one; the rest of the file is left alone): medians over
# the rounds with [min-max], ratios to udp, and the Go benchmarks of the
# encrypt/decrypt path (-benchmem).
#
# Environment (defaults in brackets):
#   ROUNDS [5]   DUR [5] (seconds per iperf3 run)   SKIP_BUILD=1 (use bin/vde)
#   OUT [bench/RESULTS.md]
# Needs root, iproute2, iperf3, python3 and the real vde_plug (vdeplug4).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-5}
DUR=${DUR:-5}
OUT=${OUT:-$ROOT/bench/RESULTS.md}
BIN=$ROOT/bin
REAL_PLUG=$(command -v vde_plug || true)

log() { printf '%s\n' "$*" >&2; }
die() { log "cryptcab_bench.sh: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, taps)"
for t in ip iperf3 python3 go; do command -v "$t" >/dev/null || die "$t is not installed"; done
[ -n "$REAL_PLUG" ] || die "the real vde_plug is not installed (apt-get install vdeplug)"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
	make -C "$ROOT" -s build >&2
fi
ln -sf vde "$BIN/vde_cryptcab"

WORK=$(mktemp -d /tmp/govde-ccbench.XXXXXX)
chmod 700 "$WORK"
ID=$$
NSA=ccbA$ID NSB=ccbB$ID TAPA=ccb${ID}a TAPB=ccb${ID}b
PIDS=()      # long-lived processes (switches, taps)
CABLE=()     # processes of the current cable

stop_pids() {
	local p
	for p in "$@"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "$@"; do
		for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}
cleanup() {
	stop_pids "${CABLE[@]}" "${PIDS[@]}"
	ip netns del "$NSA" 2>/dev/null || true
	ip netns del "$NSB" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT

count_ports() { find "$1" -maxdepth 1 -name '[0-9][0-9][0-9].*' | wc -l; }
wait_ports() { # DIR N
	for _ in $(seq 200); do [ "$(count_ports "$1")" -ge "$2" ] && return 0; sleep 0.05; done
	die "switch $1 never got $2 ports"
}
wait_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; die "no $1"; }

# The fixed part: two switches, two namespaces, two taps.
SWA=$WORK/swA SWB=$WORK/swB
"$BIN/vde_switch" --nostdin -s "$SWA" </dev/null 2>"$WORK/swA.log" & PIDS+=($!)
"$BIN/vde_switch" --nostdin -s "$SWB" </dev/null 2>"$WORK/swB.log" & PIDS+=($!)
wait_file "$SWA/ctl"; wait_file "$SWB/ctl"
for ns in "$NSA" "$NSB"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip netns exec "$NSA" "$REAL_PLUG" "tap://$TAPA" "$SWA" 2>"$WORK/tapA.log" & PIDS+=($!)
ip netns exec "$NSB" "$REAL_PLUG" "tap://$TAPB" "$SWB" 2>"$WORK/tapB.log" & PIDS+=($!)
for _ in $(seq 100); do ip -n "$NSA" link show "$TAPA" >/dev/null 2>&1 && ip -n "$NSB" link show "$TAPB" >/dev/null 2>&1 && break; sleep 0.05; done
ip -n "$NSA" addr add 10.78.0.1/24 dev "$TAPA"; ip -n "$NSA" link set "$TAPA" up
ip -n "$NSB" addr add 10.78.0.2/24 dev "$TAPB"; ip -n "$NSB" link set "$TAPB" up
wait_ports "$SWA" 1; wait_ports "$SWB" 1

head -c 32 /dev/urandom >"$WORK/key"
PORT_BASE=$((20000 + ID % 20000))

# Does this build have udp://? (an unknown module says "Protocol not supported")
HAVE_UDP=1
probe=$(timeout 1 "$BIN/vde_plug" "udp://127.0.0.1:$PORT_BASE->127.0.0.1:$((PORT_BASE + 1))" null:// 2>&1 || true)
case $probe in *"not supported"*) HAVE_UDP=0 ;; esac

start_cable() { # NAME N
	local n=$2 p1=$((PORT_BASE + 10 * $2)) p2=$((PORT_BASE + 10 * $2 + 1))
	CABLE=()
	: >"$WORK/cable.log"
	case $1 in
	cryptcab) # -v: each end prints its counters (drops by reason) when it stops
		"$BIN/vde_cryptcab" -v -p "127.0.0.1:$p1" -s "$SWA" -P "$WORK/key" 2>"$WORK/cable.log" & CABLE+=($!)
		sleep 0.2
		"$BIN/vde_cryptcab" -v -c "127.0.0.1:$p1" -s "$SWB" -P "$WORK/key" 2>>"$WORK/cable.log" & CABLE+=($!) ;;
	udp-ours)
		"$BIN/vde_plug" "$SWA" "udp://127.0.0.1:$p1->127.0.0.1:$p2" 2>>"$WORK/cable.log" & CABLE+=($!)
		"$BIN/vde_plug" "$SWB" "udp://127.0.0.1:$p2->127.0.0.1:$p1" 2>>"$WORK/cable.log" & CABLE+=($!) ;;
	udp-real)
		"$REAL_PLUG" "$SWA" "udp://127.0.0.1:$p1->127.0.0.1:$p2" 2>>"$WORK/cable.log" & CABLE+=($!)
		"$REAL_PLUG" "$SWB" "udp://127.0.0.1:$p2->127.0.0.1:$p1" 2>>"$WORK/cable.log" & CABLE+=($!) ;;
	stream)
		"$BIN/dpipe" "$BIN/vde_plug" "$SWA" = "$BIN/vde_plug" "$SWB" 2>>"$WORK/cable.log" & CABLE+=($!) ;;
	esac
	wait_ports "$SWA" 2; wait_ports "$SWB" 2
	: "$n"
}

stop_cable() {
	stop_pids "${CABLE[@]}"
	CABLE=()
	for _ in $(seq 100); do [ "$(count_ports "$SWA")" -le 1 ] && [ "$(count_ports "$SWB")" -le 1 ] && return 0; sleep 0.05; done
}

run_iperf() { # N -> iperf3's JSON on stdout. A one-off server per attempt,
	# on a port of its own. iperf3 3.12 exits 0 even when it cannot connect
	# (the JSON has "error") and can hang when it connects too early: wait
	# until the server listens, bound the client's run, check the JSON.
	local port=$((5300 + 20 * ($1 % 200))) i sp
	for i in $(seq 5); do
		ip netns exec "$NSB" iperf3 -s -1 -B 10.78.0.2 -p "$port" >/dev/null 2>&1 &
		sp=$!
		for _ in $(seq 100); do
			[ -n "$(ip netns exec "$NSB" ss -Htln "sport = :$port")" ] && break
			sleep 0.05
		done
		ip netns exec "$NSA" timeout $((DUR + 20)) iperf3 -c 10.78.0.2 -p "$port" -t "$DUR" -O 1 -J >"$WORK/try.json" 2>/dev/null || true
		stop_pids "$sp"
		if grep -q '"bits_per_second"' "$WORK/try.json" && ! grep -q '"error"' "$WORK/try.json"; then
			cat "$WORK/try.json"
			return 0
		fi
		port=$((port + 1))
		sleep 0.5
	done
	cat "$WORK/try.json" 2>/dev/null || echo '{"error":"iperf3 failed"}'
}

CABLES=(cryptcab udp-real stream)
[ "$HAVE_UDP" = 1 ] && CABLES=(cryptcab udp-ours udp-real stream)
RESULTS=$WORK/results.jsonl
START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
n=0
for r in $(seq "$ROUNDS"); do
	k=${#CABLES[@]}
	for i in $(seq 0 $((k - 1))); do
		c=${CABLES[$(((i + r) % k))]}
		n=$((n + 1))
		start_cable "$c" "$n"
		run_iperf "$n" >"$WORK/run.json"
		stop_cable
		python3 - "$c" "$r" "$WORK/run.json" "$WORK/cable.log" >>"$RESULTS" <<'PY'
import json, re, sys
try:
    d = json.load(open(sys.argv[3]))
except ValueError:
    d = {"error": "no iperf3 result"}
e = d.get("end", {})
# vde_cryptcab's own counters (both ends), from their exit lines
drops, frames = 0, 0
for line in open(sys.argv[4], errors="replace"):
    if "stats:" in line and "dropped:" in line:
        frames += int(re.search(r"; in (\d+) frames", line).group(1))
        drops += sum(int(x) for x in re.findall(r"\d+", line.split("dropped:")[1]))
print(json.dumps({"cable": sys.argv[1], "round": int(sys.argv[2]), "cc_frames": frames, "cc_drops": drops,
  "mbps": e.get("sum_received", {}).get("bits_per_second", 0) / 1e6,
  "retr": e.get("sum_sent", {}).get("retransmits", 0),
  "cpu_host": e.get("cpu_utilization_percent", {}).get("host_total", 0),
  "error": d.get("error", "")}))
PY
		log "round $r/$ROUNDS $c: $(tail -1 "$RESULTS")"
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
WALL=$(($(date +%s) - START))

log "running the Go benchmarks of the encrypt/decrypt path"
GOBENCH=$(cd "$ROOT" && go test -run '^$' -bench 'SealOpen|RoundTrip' -benchmem -benchtime 1s -timeout 120s ./transports/cryptcab/ 2>&1 | grep -E '^Benchmark' || true)

python3 - "$RESULTS" "$OUT" "$ROUNDS" "$DUR" "$HAVE_UDP" "$LOAD_BEFORE" "$LOAD_AFTER" "$WALL" "$GOBENCH" <<'PY'
import json, statistics, sys, platform, subprocess, datetime, os, re
res, out, rounds, dur, have_udp, lb, la, wall, gobench = sys.argv[1:10]
runs = [json.loads(l) for l in open(res)]
names = {
  "cryptcab": "vde_cryptcab (govde): X25519 + ChaCha20-Poly1305 over UDP",
  "udp-ours": "udp:// cable (govde vde_plug), plain",
  "udp-real": "udp:// cable (real vde_plug 4.0.1), plain",
  "stream": "stream cable (govde dpipe + vde_plug), plain, over pipes",
}
by = {}
for r in runs:
    by.setdefault(r["cable"], []).append(r)
def med(c, k):
    v = [x[k] for x in by.get(c, []) if not x["error"]]
    return (statistics.median(v), min(v), max(v)) if v else None
lines = []
lines.append("<!-- cryptcab-bench:begin -->")
lines.append("## vde_cryptcab: what encryption costs a cable")
lines.append("")
lines.append("Generated by `bench/cryptcab_bench.sh`; do not edit by hand, rerun the script. Kernel TCP (iperf3, "
             f"{dur} s per run after a 1 s warm-up, A→B) between two network namespaces whose taps (real `vde_plug tap://`) sit on two govde "
             "switches joined by the cable under test, all on one host over 127.0.0.1. Every round runs every cable once, "
             "the order rotating. Figures are medians over the rounds with [min–max].")
lines.append("")
try:
    kernel = platform.release()
except Exception:
    kernel = "?"
go = subprocess.run(["go", "version"], capture_output=True, text=True).stdout.strip()
lines.append("| Machine and run |  |")
lines.append("|---|---|")
lines.append(f"| Date | {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} |")
lines.append(f"| Kernel, CPUs | `{kernel}`, {os.cpu_count()} |")
lines.append(f"| Go | {go} |")
lines.append(f"| Rounds × run length | {rounds} × {dur} s; wall time {wall} s |")
lines.append(f"| Load average (1/5/15 min) | before: {lb}; after: {la} |")
try:
    qlen = open("/proc/sys/net/unix/max_dgram_qlen").read().strip()
except OSError:
    qlen = "?"
lines.append(f"| net.unix.max_dgram_qlen | {qlen} (the switches' unix datagram sockets) |")
if have_udp != "1":
    lines.append("| Note | this build has no udp:// module: the plain-UDP baseline is the real vde_plug's only |")
lines.append("")
lines.append("| Cable | TCP throughput Mbit/s | TCP retransmits | vs real udp:// | vs ours udp:// |")
lines.append("|---|--:|--:|--:|--:|")
base_real = med("udp-real", "mbps")
base_ours = med("udp-ours", "mbps")
for c in ["cryptcab", "udp-ours", "udp-real", "stream"]:
    m = med(c, "mbps")
    if m is None:
        if c in by:
            lines.append(f"| {names[c]} | failed | | | |")
        continue
    rt = med(c, "retr")
    r1 = f"{m[0]/base_real[0]:.2f}" if base_real and base_real[0] else ""
    r2 = f"{m[0]/base_ours[0]:.2f}" if base_ours and base_ours[0] else ""
    lines.append(f"| {names[c]} | {m[0]:,.0f} [{m[1]:,.0f}–{m[2]:,.0f}] | {rt[0]:,.0f} | {r1} | {r2} |")
cc = [x for x in by.get("cryptcab", []) if not x["error"]]
if cc:
    fr = sum(x["cc_frames"] for x in cc)
    dr = sum(x["cc_drops"] for x in cc)
    retr = med("cryptcab", "retr")
    lines.append("")
    text = (f"Reading: over the {len(cc)} cryptcab runs its two ends received {fr:,} frames and dropped {dr:,} "
            f"({100*dr/max(fr,1):.3f} %, every reason counted: authentication, replay, queue…), while TCP retransmitted "
            f"a median {retr[0]:,.0f} segments per run: the loss TCP reacts to is elsewhere on the path (switches, taps; "
            f"a switch's unix datagram socket holds at most net.unix.max_dgram_qlen datagrams).")
    m = med("cryptcab", "mbps")
    for other, label in (("udp-ours", "ours udp://"), ("udp-real", "the real udp://")):
        o = med(other, "mbps")
        if o and m:
            overlap = "overlap" if m[1] <= o[2] and o[1] <= m[2] else "do not overlap"
            text += (f" The cryptcab's median is {100*m[0]/o[0]:.0f} % of {label}'s; their ranges "
                     f"[{m[1]:,.0f}–{m[2]:,.0f}] and [{o[1]:,.0f}–{o[2]:,.0f}] {overlap}.")
    text += " What encryption costs per frame, without the rest of the path, is in the Go benchmarks below."
    lines.append(text)
lines.append("")
lines.append("Go benchmarks of the encrypt/decrypt path (`go test -bench 'SealOpen|RoundTrip' -benchmem ./transports/cryptcab/`): "
             "*SealOpen* seals 64 frames as a client writer does and opens them as the server's reader does, into pooled buffers, "
             "without system calls; *RoundTrip* adds sendmmsg/recvmmsg over 127.0.0.1. 0 allocs/op is 0 allocations per frame.")
lines.append("")
lines.append("```")
lines.extend(l.strip() for l in gobench.splitlines())
lines.append("```")
lines.append("")
lines.append("<details><summary>Every run</summary>")
lines.append("")
lines.append("| round | cable | Mbit/s | retransmits | iperf3 host CPU % | cryptcab frames in / dropped | error |")
lines.append("|--:|---|--:|--:|--:|--:|---|")
for r in runs:
    ccs = f"{r['cc_frames']:,} / {r['cc_drops']:,}" if r["cable"] == "cryptcab" else ""
    lines.append(f"| {r['round']} | {r['cable']} | {r['mbps']:,.0f} | {r['retr']} | {r['cpu_host']:.0f} | {ccs} | {r['error']} |")
lines.append("")
lines.append("</details>")
lines.append("<!-- cryptcab-bench:end -->")
section = "\n".join(lines) + "\n"
text = open(out).read() if os.path.exists(out) else ""
pat = re.compile(r"<!-- cryptcab-bench:begin -->.*?<!-- cryptcab-bench:end -->\n?", re.S)
if pat.search(text):
    text = pat.sub(lambda _: section, text)
else:
    text = text.rstrip("\n") + "\n\n" + section
open(out, "w").write(text)
print(section)
PY
