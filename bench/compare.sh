#!/usr/bin/env bash
# bench/compare.sh: govde's vde_switch against the original C vde_switch,
# in the same run, with the same load generator (bench/cmd/loadgen).
#
# For each of ROUNDS rounds and each scenario it runs both switches one after
# the other, alternating which goes first, each time on a fresh switch
# (started with -d -p PIDFILE -s DIR in a private temp dir, stopped by its
# pid). It then writes bench/RESULTS.md (medians over the rounds, ratios,
# every run in an appendix) and bench/throughput.svg (delivered throughput
# against frame size).
#
# Environment (defaults in brackets):
#   ROUNDS [5]            rounds; each scenario runs once per switch per round
#   DUR [2s]              sending time of each throughput / flood run
#   SIZES [64 128 256 512 1024 1500]  frame sizes of the throughput sweep
#   WINDOW [64]           frames in flight (sent, not yet received) in the
#                         sweep and the many-ports run
#   OVERLOAD_SIZES [64 1500]  sizes of the open-loop ("as fast as possible,
#                         no window") runs that show loss under overload
#   PINGS [20000]         measured round trips per ping-pong run
#   FIXED_RATE [50000]    offered frames/s of the fixed-load run (64 B)
#   IDLE [32]             idle clients of the many-ports run
#   FLOOD_CLIENTS [200]   clients of the broadcast flood
#   FLOOD_RATE [10]       broadcasts/s per flood client
#   QUICK=1               smoke run: ROUNDS=1, DUR=1s, PINGS=3000 (~1 min)
#   SKIP_BUILD=1          use the existing bin/vde instead of `make build`
#   REAL_SWITCH [/usr/bin/vde_switch]  the original switch
#   OUT [bench/RESULTS.md], SVG [bench/throughput.svg]
#   RAW_DIR               also keep the raw runs (results.jsonl, meta.json,
#                         notes.txt) there; `bench/report.py --meta
#                         RAW_DIR/meta.json --results ... --notes ... --md ...
#                         --svg ...` rebuilds the report from them
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-1} DUR=${DUR:-1s} PINGS=${PINGS:-3000}
fi
ROUNDS=${ROUNDS:-5}
DUR=${DUR:-2s}
SIZES=${SIZES:-64 128 256 512 1024 1500}
WINDOW=${WINDOW:-64}
OVERLOAD_SIZES=${OVERLOAD_SIZES:-64 1500}
PINGS=${PINGS:-20000}
FIXED_RATE=${FIXED_RATE:-50000}
IDLE=${IDLE:-32}
FLOOD_CLIENTS=${FLOOD_CLIENTS:-200}
FLOOD_RATE=${FLOOD_RATE:-10}
REAL=${REAL_SWITCH:-/usr/bin/vde_switch}
OURS=$ROOT/bin/vde_switch
OUT=${OUT:-$BENCH/RESULTS.md}
SVG=${SVG:-$BENCH/throughput.svg}

log() { printf '%s\n' "$*" >&2; }
die() { log "compare.sh: $*"; exit 1; }

command -v python3 >/dev/null || die "python3 is needed for the report"
[ -x "$REAL" ] || die "the original vde_switch ($REAL) is not installed (apt-get install vde2)"
command -v go >/dev/null || die "go is not in PATH"

WORK=$(mktemp -d /tmp/govde-bench.XXXXXX)
chmod 700 "$WORK"
LOADGEN_PID=

# cleanup stops what this script started, by the pids it recorded: the
# switches (pid files written by the daemons) and a running loadgen.
cleanup() {
	local rc=$? f pid
	trap - EXIT INT TERM
	if [ -n "$LOADGEN_PID" ] && kill -0 "$LOADGEN_PID" 2>/dev/null; then
		kill "$LOADGEN_PID" 2>/dev/null || true
		wait "$LOADGEN_PID" 2>/dev/null || true
	fi
	for f in "$WORK"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		[ -n "$pid" ] && stop_pid "$pid" "$WORK"
	done
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# is_ours PID DIR: the process is one of our switches (its command line
# names our private DIR), so a recycled pid is never signalled.
is_ours() {
	[ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

# stop_pid PID DIR: SIGTERM, then SIGKILL after 3 s. Prints "kill" when the
# process needed SIGKILL.
stop_pid() {
	local pid=$1 dir=$2 i
	is_ours "$pid" "$dir" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 60); do
		is_ours "$pid" "$dir" || return 0
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null || true
	for i in $(seq 40); do
		is_ours "$pid" "$dir" || break
		sleep 0.05
	done
	echo kill
}

# ---------------------------------------------------------------- build
T_START=$(date +%s)
if [ "${SKIP_BUILD:-0}" != 1 ]; then
	log "building govde (make build) and the load generator..."
	make -s -C "$ROOT" build >&2 || die "make build failed"
fi
[ -x "$OURS" ] || die "$OURS missing (run make build)"
[ "$(readlink -f "$OURS")" != "$(readlink -f "$REAL")" ] || die "REAL_SWITCH is govde's own switch"
(cd "$ROOT" && go build -trimpath -o "$WORK/loadgen" ./bench/cmd/loadgen) || die "building loadgen failed"
LOADGEN=$WORK/loadgen

# ---------------------------------------------------------------- machine
meta() {
	local cpu real_v pkg commit dirty
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	real_v=$("$REAL" -v 2>&1 </dev/null | head -1 || true)
	pkg=$(dpkg-query -W -f='${Version}' vde2 2>/dev/null || echo unknown)
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo " + uncommitted changes" || true)
	python3 - "$@" <<EOF
import json, sys
print(json.dumps({
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "kernel": "$(uname -r)",
  "cpu": """$cpu""",
  "nproc": "$(nproc)",
  "go": "$(go version | sed 's/^go version //')",
  "real": "$REAL: $real_v (Debian vde2 $pkg)",
  "ours": "$OURS (govde $commit$dirty)",
  "qlen": "$(cat /proc/sys/net/unix/max_dgram_qlen 2>/dev/null || echo '?')",
  "rounds": $ROUNDS, "dur": "$DUR", "pings": $PINGS, "sizes": "$SIZES",
  "window": $WINDOW, "overload_sizes": "$OVERLOAD_SIZES",
  "fixed_rate": $FIXED_RATE, "idle": $IDLE,
  "flood_clients": $FLOOD_CLIENTS, "flood_rate": $FLOOD_RATE,
  "quick": "$QUICK" == "1",
  "load_before": "$(cut -d' ' -f1-3 /proc/loadavg)",
}))
EOF
}
meta >"$WORK/meta.json"

# ---------------------------------------------------------------- runs
RESULTS=$WORK/results.jsonl
NOTES=$WORK/notes.txt
: >"$RESULTS"
: >"$NOTES"
SEQ=0

# start_switch IMPL PORTS: start a fresh switch, set SW_PID and SW_DIR.
start_switch() {
	local impl=$1 ports=$2 bin i
	SEQ=$((SEQ + 1))
	SW_DIR=$WORK/sw$SEQ-$impl
	local pidf=$WORK/sw$SEQ-$impl.pid
	if [ "$impl" = ours ]; then bin=$OURS; else bin=$REAL; fi
	"$bin" -d -p "$pidf" -s "$SW_DIR" -n "$ports" </dev/null >>"$WORK/switch.log" 2>&1 ||
		die "$impl switch did not start (see $WORK/switch.log)"
	SW_PID=
	for i in $(seq 100); do
		if [ -s "$pidf" ] && [ -S "$SW_DIR/ctl" ]; then
			SW_PID=$(cat "$pidf")
			break
		fi
		sleep 0.05
	done
	[ -n "$SW_PID" ] || die "$impl switch: no pid file or control socket after 5 s"
}

stop_switch() {
	local impl=$1 pidf=$WORK/sw$SEQ-$1.pid how
	how=$(stop_pid "$SW_PID" "$SW_DIR")
	[ "$how" = kill ] && echo "$impl switch (run $SEQ) did not exit on SIGTERM within 3 s: killed" >>"$NOTES"
	rm -f "$pidf"
	rm -rf "$SW_DIR"
}

# run_one ROUND IMPL SCENARIO PARAM PORTS LOADGEN-ARGS...
run_one() {
	local round=$1 impl=$2 scen=$3 param=$4 ports=$5 out rc load1
	shift 5
	load1=$(cut -d' ' -f1 /proc/loadavg)
	start_switch "$impl" "$ports"
	set +e
	"$LOADGEN" -dir "$SW_DIR" -switch-pid "$SW_PID" -progress=false "$@" >"$WORK/run.out" &
	LOADGEN_PID=$!
	wait "$LOADGEN_PID"
	rc=$?
	LOADGEN_PID=
	set -e
	stop_switch "$impl"
	out=$(tail -n 1 "$WORK/run.out")
	if [ $rc -ne 0 ] || [ -z "$out" ]; then
		echo "round $round $impl $scen $param: loadgen failed (rc $rc): ${out:-no output}" >>"$NOTES"
		[ -n "$out" ] || out='{"error":"no output"}'
	fi
	printf '{"round":%d,"impl":"%s","scenario":"%s","param":%s,"load1":%s,"result":%s}\n' \
		"$round" "$impl" "$scen" "$param" "$load1" "$out" >>"$RESULTS"
	DONE=$((DONE + 1))
	progress "$round" "$impl" "$scen" "$param" "$out"
}

progress() {
	local now el eta summary
	now=$(date +%s)
	el=$((now - T_RUNS))
	eta=$(((el * (TOTAL - DONE) + DONE / 2) / DONE))
	summary=$(printf '%s' "$5" | python3 -c '
import json, sys
r = json.loads(sys.stdin.read() or "{}")
if "error" in r: print("ERROR: " + r["error"])
elif r.get("mode") == "pingpong": print("p50 %.1f us  p99 %.1f us  timed out %d" % (r["p50_us"], r["p99_us"], r["lost"]))
elif r.get("mode") == "flood": print("%.0f fps delivered  loss %.2f%%  min/median rx %.3f" % (r["delivered_fps"], r["loss_pct"], r["rx_ratio_min"]))
else: print("%.3f Mfps  %.3f Gbit/s  loss %.2f%%  switch cpu %.0f%%" % (r["delivered_fps"]/1e6, r["delivered_gbps"], r["loss_pct"], r["switch_cpu_pct"]))
' 2>/dev/null || echo "?")
	printf '[%3d/%d] %3ds elapsed, ~%ds left  round %d/%d  %-4s  %-10s %-5s %s\n' \
		"$DONE" "$TOTAL" "$el" "$eta" "$1" "$ROUNDS" "$2" "$3" "$4" "$summary" >&2
}

# pair ROUND K SCENARIO PARAM PORTS ARGS...: run both switches, the order
# alternating with the round and the position in the round.
pair() {
	local round=$1 k=$2
	shift 2
	if [ $(((round + k) % 2)) -eq 1 ]; then
		run_one "$round" real "$@"
		run_one "$round" ours "$@"
	else
		run_one "$round" ours "$@"
		run_one "$round" real "$@"
	fi
}

nsizes=$(echo $SIZES $OVERLOAD_SIZES | wc -w)
TOTAL=$((ROUNDS * 2 * (nsizes + 4)))
DONE=0
T_RUNS=$(date +%s)
log "running $TOTAL runs ($ROUNDS rounds, $DUR per throughput run); work dir $WORK"
for round in $(seq "$ROUNDS"); do
	k=0
	for size in $SIZES; do
		pair "$round" $k throughput "$size" 64 -mode throughput -size "$size" -window "$WINDOW" -duration "$DUR"
		k=$((k + 1))
	done
	for size in $OVERLOAD_SIZES; do
		pair "$round" $k overload "$size" 64 -mode throughput -size "$size" -duration "$DUR"
		k=$((k + 1))
	done
	pair "$round" $k pingpong 64 64 -mode pingpong -size 64 -count "$PINGS"
	k=$((k + 1))
	pair "$round" $k fixedrate "$FIXED_RATE" 64 -mode throughput -size 64 -rate "$FIXED_RATE" -duration "$DUR"
	k=$((k + 1))
	pair "$round" $k idle "$IDLE" 64 -mode throughput -size 64 -idle "$IDLE" -window "$WINDOW" -duration "$DUR"
	k=$((k + 1))
	pair "$round" $k flood "$FLOOD_CLIENTS" $((FLOOD_CLIENTS + 56)) -mode flood -clients "$FLOOD_CLIENTS" -rate "$FLOOD_RATE" -duration "$DUR"
done

# ---------------------------------------------------------------- report
T_END=$(date +%s)
python3 - "$WORK/meta.json" "$T_START" "$T_END" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["wall_s"] = int(sys.argv[3]) - int(sys.argv[2])
m["load_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
json.dump(m, open(sys.argv[1], "w"))
EOF
if [ -n "${RAW_DIR:-}" ]; then
	mkdir -p "$RAW_DIR" && cp "$WORK/meta.json" "$RESULTS" "$NOTES" "$RAW_DIR/"
fi
python3 "$BENCH/report.py" --meta "$WORK/meta.json" --results "$RESULTS" --notes "$NOTES" \
	--md "$OUT" --svg "$SVG"
log "wrote $OUT and $SVG in $((T_END - T_START)) s"
left=$(ls "$WORK" | grep -c "^sw[0-9]" || true)
[ "$left" -eq 0 ] || log "warning: $left switch directories left in $WORK (removed on exit)"
