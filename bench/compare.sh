#!/usr/bin/env bash
# bench/compare.sh: govde's vde_switch against the original C vde_switch
# (and, for one flow, against a plain C relay of unix datagrams), in the same
# run, measuring the goals of issue 9.
#
# For each of ROUNDS rounds and each scenario it runs every implementation
# one after the other, rotating which goes first, each time on a fresh
# switch (started in the foreground with -p PIDFILE -s DIR in a private temp
# dir, or as a daemon with -d when SWITCH_MODE=daemon, stopped by
# its pid). It then writes its section of bench/RESULTS.md (medians over the
# rounds, ratios, one row per goal, every run in an appendix) and
# bench/throughput.svg (delivered throughput against frame size).
#
# Scenarios (see bench/README.md):
#   clients   two libvdeplug clients (bench/clients/vdesend.c, vderecv.c):
#             blocking vde_send() flat out, vde_recv() counting; every size
#             in SIZES; ours, real, relay (bench/clients/relay.c)
#   clidle    the same at 64 B with IDLE idle clients attached; ours, real
#   lg2port, lgidle   loadgen (sendmmsg/recvmmsg, window of WINDOW frames)
#             at 64 B without / with IDLE idle clients; ours, real
#   pingpong  loadgen ping-pong round trips; ours, real
#   fixedrate loadgen 64 B at FIXED_RATE frames/s: CPU at equal work
#   flood     FLOOD_CLIENTS loadgen clients broadcasting FLOOD_RATE/s each
#   memory    MEM_CLIENTS idle clients attached: VmRSS/VmHWM of the switch
#
# Environment (defaults in brackets):
#   ROUNDS [7]            rounds; each scenario runs once per implementation per round
#   DUR [2s]              sending time of each throughput / flood run
#   SIZES [64 128 256 512 1024 1500]  frame sizes of the libvdeplug-client
#                         sweep (64 and 1500, the goals' sizes, are always run)
#   RELAY [1]             0: leave the plain relay out
#   WINDOW [64]           frames in flight of the loadgen scaling runs
#   PINGS [20000]         measured round trips per ping-pong run
#   FIXED_RATE [50000]    offered frames/s of the fixed-load run (64 B)
#   IDLE [32]             idle clients of the scaling runs
#   FLOOD_CLIENTS [200]   clients of the broadcast flood
#   FLOOD_RATE [10]       broadcasts/s per flood client
#   MEM_CLIENTS [256]     idle clients of the memory run
#   MEM_SETTLE [1]        seconds between attaching them and reading the RSS
#   SWITCH_MODE [fg]      fg: both switches in the foreground, in this
#                         script's session (like the clients and the relay);
#                         daemon: both with -d (each then lands in a
#                         scheduling autogroup of its own)
#   QUICK=1               smoke run: ROUNDS=1, DUR=1s, PINGS=3000, SIZES="64 1500"
#   SKIP_BUILD=1          use the existing bin/vde instead of `make build`
#   REAL_SWITCH [/usr/bin/vde_switch]  the original switch
#   OUT [bench/RESULTS.md], SVG [bench/throughput.svg]
#   RAW_DIR               also keep the raw runs (results.jsonl, meta.json,
#                         notes.txt) there; `bench/report.py --meta
#                         RAW_DIR/meta.json --results ... --notes ... --md ...
#                         --svg ...` rebuilds the report from them
#
# It needs the original vde_switch (vde2), libvdeplug's header (Debian
# libvdeplug-dev: installed with apt-get when run as root), gcc, Go and
# python3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${ROUNDS:-1} DUR=${DUR:-1s} PINGS=${PINGS:-3000} SIZES=${SIZES:-64 1500}
fi
ROUNDS=${ROUNDS:-7}
DUR=${DUR:-2s}
SIZES=${SIZES:-64 128 256 512 1024 1500}
RELAY=${RELAY:-1}
SWITCH_MODE=${SWITCH_MODE:-fg}
WINDOW=${WINDOW:-64}
PINGS=${PINGS:-20000}
FIXED_RATE=${FIXED_RATE:-50000}
IDLE=${IDLE:-32}
FLOOD_CLIENTS=${FLOOD_CLIENTS:-200}
FLOOD_RATE=${FLOOD_RATE:-10}
MEM_CLIENTS=${MEM_CLIENTS:-256}
MEM_SETTLE=${MEM_SETTLE:-1}
REAL=${REAL_SWITCH:-/usr/bin/vde_switch}
OURS=$ROOT/bin/vde_switch
OUT=${OUT:-$BENCH/RESULTS.md}
SVG=${SVG:-$BENCH/throughput.svg}

log() { printf '%s\n' "$*" >&2; }
die() { log "compare.sh: $*"; exit 1; }

# The goals' sizes are always in the sweep; sorted, without duplicates.
SIZES=$(printf '%s\n' $SIZES 64 1500 | sort -nu | tr '\n' ' ' | sed 's/ $//')
DUR_S=$(python3 -c 'import sys; s=sys.argv[1]; print(float(s[:-2])/1000 if s.endswith("ms") else float(s.rstrip("s")))' "$DUR" 2>/dev/null) ||
	die "DUR must be like 2s or 500ms (got $DUR)"
for v in ROUNDS PINGS FIXED_RATE IDLE FLOOD_CLIENTS FLOOD_RATE MEM_CLIENTS WINDOW; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number (got ${!v})"
done
for s in $SIZES; do
	[[ $s =~ ^[0-9]+$ ]] && [ "$s" -ge 60 ] && [ "$s" -le 1514 ] || die "SIZES: $s is not in [60, 1514]"
done

command -v python3 >/dev/null || die "python3 is needed for the report"
[ -x "$REAL" ] || die "the original vde_switch ($REAL) is not installed (apt-get install vde2)"
command -v go >/dev/null || die "go is not in PATH"
command -v gcc >/dev/null || die "gcc is needed to build bench/clients (apt-get install gcc)"

WORK=$(mktemp -d /tmp/govde-bench.XXXXXX)
chmod 700 "$WORK"
# Processes this script started in the background (loadgen, the libvdeplug
# clients, the relay): stopped by the EXIT trap if still running.
BG_PIDS=

# cleanup stops what this script started, by the pids it recorded: the
# switches and the relay (pid files), the clients and load generators.
cleanup() {
	local rc=$? f pid
	trap - EXIT INT TERM
	for pid in $BG_PIDS; do
		if is_ours "$pid" "$WORK"; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for f in "$WORK"/*.pid; do
		[ -e "$f" ] || continue
		pid=$(cat "$f" 2>/dev/null || true)
		[ -n "$pid" ] && stop_pid "$pid" "$WORK" >/dev/null
	done
	for pid in $BG_PIDS; do
		is_ours "$pid" "$WORK" && kill -KILL "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# is_ours PID DIR: the process is running and is one this script started
# (its command line names our private DIR), so a recycled pid is never
# signalled. A zombie has an empty command line: not running.
is_ours() {
	{ tr '\0' ' ' <"/proc/$1/cmdline"; } 2>/dev/null | grep -qF -- "$2"
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

# wait_file PATH SECONDS: wait until PATH exists.
wait_file() {
	local i n=$(($2 * 20))
	for i in $(seq "$n"); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# wait_pid PID SECONDS: wait until the background process PID (ours) has
# exited, then reap it; SIGTERM (and SIGKILL) it after SECONDS. Returns its
# exit status, 124 when it had to be stopped.
wait_pid() {
	local pid=$1 n=$(($2 * 20)) i rc=0
	for i in $(seq "$n"); do
		is_ours "$pid" "$WORK" || break
		sleep 0.05
	done
	if is_ours "$pid" "$WORK"; then
		stop_pid "$pid" "$WORK" >/dev/null
		wait "$pid" 2>/dev/null || true
		return 124
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
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

# The libvdeplug clients and the relay, built with gcc against the real
# libvdeplug (vdeplug4's header from Debian's libvdeplug-dev).
if ! echo '#include <libvdeplug.h>' | gcc -E -x c - >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing libvdeplug-dev (libvdeplug.h) for bench/clients..."
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvdeplug-dev >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libvdeplug-dev >/dev/null 2>&1; } ||
			die "apt-get install libvdeplug-dev failed"
	fi
	echo '#include <libvdeplug.h>' | gcc -E -x c - >/dev/null 2>&1 ||
		die "libvdeplug.h is missing: install libvdeplug-dev (Debian/Ubuntu: apt-get install libvdeplug-dev)"
fi
CL=$WORK/clients
mkdir -p "$CL"
for p in vdesend vderecv; do
	gcc -O2 -Wall -o "$CL/$p" "$BENCH/clients/$p.c" -lvdeplug 2>"$CL/$p.err" ||
		die "building bench/clients/$p.c failed: $(cat "$CL/$p.err")"
done
gcc -O2 -Wall -pthread -o "$CL/relay" "$BENCH/clients/relay.c" 2>"$CL/relay.err" ||
	die "building bench/clients/relay.c failed: $(cat "$CL/relay.err")"

# ---------------------------------------------------------------- machine
meta() {
	local cpu real_v pkg libv commit dirty
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	real_v=$("$REAL" -v 2>&1 </dev/null | head -1 || true)
	pkg=$(dpkg-query -W -f='${Version}' vde2 2>/dev/null || echo unknown)
	libv=$(dpkg-query -W -f='${Version}' libvdeplug-dev 2>/dev/null || echo unknown)
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	dirty=$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo " + uncommitted changes" || true)
	python3 - <<EOF
import json
print(json.dumps({
  "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
  "kernel": "$(uname -r)",
  "cpu": """$cpu""",
  "nproc": "$(nproc)",
  "go": "$(go version | sed 's/^go version //')",
  "gcc": "$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)",
  "real": "$REAL: $real_v (Debian vde2 $pkg)",
  "libvdeplug": "$libv",
  "ours": "$OURS (govde $commit$dirty)",
  "qlen": "$(cat /proc/sys/net/unix/max_dgram_qlen 2>/dev/null || echo '?')",
  "rounds": $ROUNDS, "dur": "$DUR", "pings": $PINGS, "sizes": "$SIZES",
  "relay": "$RELAY" == "1", "window": $WINDOW, "switch_mode": "$SWITCH_MODE",
  "fixed_rate": $FIXED_RATE, "idle": $IDLE,
  "flood_clients": $FLOOD_CLIENTS, "flood_rate": $FLOOD_RATE,
  "mem_clients": $MEM_CLIENTS, "mem_settle": "$MEM_SETTLE",
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

# start_switch IMPL PORTS: start a fresh switch (or the relay), set SW_PID
# and SW_DIR.
mkfifo "$WORK/stdin.fifo"
exec 3<>"$WORK/stdin.fifo"
start_switch() {
	local impl=$1 ports=$2 bin i pidf
	SEQ=$((SEQ + 1))
	SW_DIR=$WORK/sw$SEQ-$impl
	pidf=$WORK/sw$SEQ-$impl.pid
	SW_PID=
	if [ "$impl" = relay ]; then
		"$CL/relay" "$SW_DIR" </dev/null >>"$WORK/switch.log" 2>&1 &
		echo $! >"$pidf"
	else
		if [ "$impl" = ours ]; then bin=$OURS; else bin=$REAL; fi
		if [ "$SWITCH_MODE" = daemon ]; then
			"$bin" -d -p "$pidf" -s "$SW_DIR" -n "$ports" </dev/null >>"$WORK/switch.log" 2>&1 ||
				die "$impl switch did not start (see $WORK/switch.log)"
		else
			# In the foreground, in this script's session like the clients
			# and the relay (a daemon's setsid puts it in a scheduling
			# autogroup of its own, which changes what it gets of the CPUs).
			# The original reads its console from stdin: give it the fifo
			# this script holds open, so that it neither exits on EOF nor
			# sees any command.
			"$bin" -p "$pidf" -s "$SW_DIR" -n "$ports" <"$WORK/stdin.fifo" >>"$WORK/switch.log" 2>&1 &
		fi
	fi
	for i in $(seq 100); do
		if [ -s "$pidf" ] && [ -S "$SW_DIR/ctl" ]; then
			SW_PID=$(cat "$pidf")
			break
		fi
		sleep 0.05
	done
	[ -n "$SW_PID" ] || die "$impl: no pid file or control socket after 5 s (see $WORK/switch.log)"
}

# stop_switch IMPL ROUND SCENARIO PARAM: stop it, noting a switch that was
# gone already (it crashed during the run) or needed SIGKILL.
stop_switch() {
	local impl=$1 pidf=$WORK/sw$SEQ-$1.pid how
	if ! is_ours "$SW_PID" "$SW_DIR"; then
		echo "round $2 $impl $3 $4: the switch (pid $SW_PID) had exited before the end of the run" >>"$NOTES"
	fi
	how=$(stop_pid "$SW_PID" "$SW_DIR")
	[ "$how" = kill ] && echo "round $2 $impl $3 $4: the switch did not exit on SIGTERM within 3 s: killed" >>"$NOTES"
	[ "$impl" = relay ] && { wait "$SW_PID" 2>/dev/null || true; }
	rm -f "$pidf"
	rm -rf "$SW_DIR"
}

# record ROUND IMPL SCENARIO PARAM LOAD1 JSON
record() {
	printf '{"round":%d,"impl":"%s","scenario":"%s","param":%s,"load1":%s,"result":%s}\n' \
		"$1" "$2" "$3" "$4" "$5" "$6" >>"$RESULTS"
	DONE=$((DONE + 1))
	progress "$1" "$2" "$3" "$4" "$6"
}

# failed ROUND IMPL SCENARIO PARAM MESSAGE: note a failed run, print its
# result line.
failed() {
	echo "round $1 $2 $3 $4: $5" >>"$NOTES"
	python3 -c 'import json,sys; print(json.dumps({"error": sys.argv[1]}))' "$5"
}

# start_idle N READY OUT: attach N idle loadgen clients to SW_DIR in the
# background (IDLE_PID); wait until they are attached.
start_idle() {
	"$LOADGEN" -dir "$SW_DIR" -mode idle -clients "$1" -ready "$2" -progress=false >"$3" 2>>"$WORK/loadgen.log" &
	IDLE_PID=$!
	BG_PIDS="$BG_PIDS $IDLE_PID"
	wait_file "$2" 60
}

# stop_idle: SIGTERM the idle clients, reap them.
stop_idle() {
	[ -n "${IDLE_PID:-}" ] || return 0
	kill -TERM "$IDLE_PID" 2>/dev/null || true
	wait_pid "$IDLE_PID" 10 || true
	IDLE_PID=
}

# run_loadgen ROUND IMPL SCENARIO PARAM PORTS LOADGEN-ARGS...
run_loadgen() {
	local round=$1 impl=$2 scen=$3 param=$4 ports=$5 out rc load1 pid
	shift 5
	load1=$(cut -d' ' -f1 /proc/loadavg)
	start_switch "$impl" "$ports"
	rc=0
	"$LOADGEN" -dir "$SW_DIR" -switch-pid "$SW_PID" -progress=false "$@" >"$WORK/run.out" 2>>"$WORK/loadgen.log" &
	pid=$!
	BG_PIDS="$BG_PIDS $pid"
	wait "$pid" || rc=$?
	stop_switch "$impl" "$round" "$scen" "$param"
	out=$(tail -n 1 "$WORK/run.out")
	if [ $rc -ne 0 ] || [ -z "$out" ]; then
		echo "round $round $impl $scen $param: loadgen failed (rc $rc): ${out:-no output}" >>"$NOTES"
		[ -n "$out" ] || out='{"error":"no output"}'
	fi
	record "$round" "$impl" "$scen" "$param" "$load1" "$out"
}

# run_clients ROUND IMPL SCENARIO SIZE PORTS IDLE: the libvdeplug clients,
# vderecv then vdesend, on a fresh switch with IDLE idle clients attached
# first.
run_clients() {
	local round=$1 impl=$2 scen=$3 size=$4 ports=$5 idle=$6 load1 rpid spid rc out d
	load1=$(cut -d' ' -f1 /proc/loadavg)
	start_switch "$impl" "$ports"
	d=$WORK/run
	rm -rf "$d"
	mkdir -p "$d"
	out=
	if [ "$idle" -gt 0 ] && ! start_idle "$idle" "$d/idle.ready" "$d/idle.json"; then
		out=$(failed "$round" "$impl" "$scen" "$size" "the $idle idle clients did not attach within 60 s")
	fi
	if [ -z "$out" ]; then
		"$CL/vderecv" -r "$d/ready" -T $((${DUR_S%.*} + 40)) "vde://$SW_DIR" >"$d/recv.json" 2>>"$d/recv.err" &
		rpid=$!
		BG_PIDS="$BG_PIDS $rpid"
		if ! wait_file "$d/ready" 10; then
			wait_pid "$rpid" 1 || true
			out=$(failed "$round" "$impl" "$scen" "$size" "vderecv did not attach within 10 s: $(head -c 300 "$d/recv.err")")
		else
			rc=0
			"$CL/vdesend" -s "$size" -t "$DUR_S" -p "$SW_PID" "vde://$SW_DIR" >"$d/send.json" 2>>"$d/send.err" &
			spid=$!
			BG_PIDS="$BG_PIDS $spid"
			wait "$spid" || rc=$?
			# The receiver stops at the sender's end marker, or 3 s after
			# the last frame when every marker was lost.
			wait_pid "$rpid" 10 || true
			[ $rc -eq 0 ] || echo "round $round $impl $scen $size: vdesend exited with status $rc: $(head -c 300 "$d/send.err")" >>"$NOTES"
		fi
	fi
	stop_idle
	stop_switch "$impl" "$round" "$scen" "$size"
	if [ -z "$out" ]; then
		out=$(python3 - "$d/send.json" "$d/recv.json" "$d/idle.json" "$idle" <<'EOF'
import json, sys
def load(p):
    try:
        with open(p) as f:
            lines = [l for l in f if l.strip()]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None
s, r, i = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
if not s or "sent" not in s:
    print(json.dumps({"error": "vdesend: " + (s or {}).get("error", "no output")})); sys.exit()
if not r or "received" not in r:
    print(json.dumps({"error": "vderecv: " + (r or {}).get("error", "no output")})); sys.exit()
secs, sent, rx, size = s["seconds"], s["sent"], r["received"], s["size"]
out = {
    "mode": "clients", "size": size, "seconds": secs, "idle": int(sys.argv[4]),
    "sent": sent, "delivered": rx, "offered_fps": round(sent / secs),
    "delivered_fps": round(rx / secs), "delivered_gbps": round(r["bytes"] * 8 / secs / 1e9, 4),
    "loss_pct": round(100 * (1 - rx / sent), 3) if sent else 0.0,
    "switch_cpu_pct": s["switch_cpu_pct"], "sender_cpu_pct": s["sender_cpu_pct"],
    "receiver_cpu_pct": r["receiver_cpu_pct"], "send_timeouts": s["send_timeouts"],
    "send_errors": s["send_errors"], "bad_size": r["sizes"], "reordered": r["reordered"],
    "duplicates": r["duplicates"], "end": r["end"],
}
if i is not None:
    out["idle_rx"] = i.get("idle_rx", 0)
    out["connect_ms"] = i.get("connect_ms", 0)
print(json.dumps(out))
EOF
)
	fi
	record "$round" "$impl" "$scen" "$size" "$load1" "$out"
}

# run_memory ROUND IMPL: MEM_CLIENTS idle clients on a fresh switch; the
# switch's VmRSS and VmHWM once they are attached.
run_memory() {
	local round=$1 impl=$2 load1 d out rss0
	load1=$(cut -d' ' -f1 /proc/loadavg)
	start_switch "$impl" $((MEM_CLIENTS + 44))
	d=$WORK/run
	rm -rf "$d"
	mkdir -p "$d"
	sleep 0.2
	rss0=$(awk '/^VmRSS:/ {print $2}' "/proc/$SW_PID/status" 2>/dev/null || echo 0)
	if start_idle "$MEM_CLIENTS" "$d/ready" "$d/idle.json"; then
		sleep "$MEM_SETTLE"
		out=$(python3 - "$SW_PID" "$rss0" "$MEM_CLIENTS" <<'EOF'
import json, os, sys
pid = sys.argv[1]
st = {}
try:
    for line in open("/proc/%s/status" % pid):
        k, _, v = line.partition(":")
        st[k] = v.split()[0] if v.split() else ""
    fds = len(os.listdir("/proc/%s/fd" % pid))
except OSError as e:
    print(json.dumps({"error": "switch gone: %s" % e})); sys.exit()
print(json.dumps({"mode": "memory", "clients": int(sys.argv[3]), "rss_start_kb": int(sys.argv[2] or 0),
                  "rss_kb": int(st.get("VmRSS", 0)), "hwm_kb": int(st.get("VmHWM", 0)),
                  "threads": int(st.get("Threads", 0)), "fds": fds}))
EOF
)
	else
		out=$(failed "$round" "$impl" memory "$MEM_CLIENTS" "the $MEM_CLIENTS idle clients did not attach within 60 s")
	fi
	stop_idle
	if [ -s "$d/idle.json" ] && [[ $out != *error* ]]; then
		out=$(python3 -c 'import json,sys; o=json.loads(sys.argv[1]); i=json.loads(open(sys.argv[2]).read().strip().splitlines()[-1]); o["connect_ms"]=i.get("connect_ms"); print(json.dumps(o))' "$out" "$d/idle.json" 2>/dev/null || echo "$out")
	fi
	stop_switch "$impl" "$round" memory "$MEM_CLIENTS"
	record "$round" "$impl" memory "$MEM_CLIENTS" "$load1" "$out"
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
elif r.get("mode") == "flood": print("%.0f fps delivered  loss %.2f%%  per-client rx min/median %.3f" % (r["delivered_fps"], r["loss_pct"], r.get("rx_min_over_median", r["rx_ratio_min"])))
elif r.get("mode") == "memory": print("RSS %.1f MB  HWM %.1f MB  (%d clients)" % (r["rss_kb"]/1024, r["hwm_kb"]/1024, r["clients"]))
else: print("%.1f kfps  %.3f Gbit/s  loss %.2f%%  cpu %.0f%%" % (r["delivered_fps"]/1e3, r["delivered_gbps"], r["loss_pct"], r["switch_cpu_pct"]))
' 2>/dev/null || echo "?")
	printf '[%3d/%d] %3ds elapsed, ~%ds left  round %d/%d  %-5s %-9s %-5s %s\n' \
		"$DONE" "$TOTAL" "$el" "$eta" "$1" "$ROUNDS" "$2" "$3" "$4" "$summary" >&2
}

# order K IMPLS...: the implementations rotated by K, so that which one
# goes first changes from one scenario to the next and from round to round.
order() {
	local k=$1 n i
	shift
	n=$#
	local a=("$@")
	for i in $(seq 0 $((n - 1))); do
		printf '%s ' "${a[$(((i + k) % n))]}"
	done
}

IMPLS3="ours real"
[ "$RELAY" = 1 ] && IMPLS3="ours real relay"
n3=$(echo $IMPLS3 | wc -w)
nsizes=$(echo $SIZES | wc -w)
PORTS=$((IDLE + 32 > 64 ? IDLE + 32 : 64))
TOTAL=$((ROUNDS * (n3 * nsizes + 2 * 7)))
DONE=0
T_RUNS=$(date +%s)
log "running $TOTAL runs ($ROUNDS rounds, $DUR per throughput run); work dir $WORK"
for round in $(seq "$ROUNDS"); do
	k=$round
	for size in $SIZES; do
		for impl in $(order $k $IMPLS3); do
			run_clients "$round" "$impl" clients "$size" "$PORTS" 0
		done
		k=$((k + 1))
	done
	for impl in $(order $k ours real); do
		run_clients "$round" "$impl" clidle 64 "$PORTS" "$IDLE"
	done
	k=$((k + 1))
	for impl in $(order $k ours real); do
		run_loadgen "$round" "$impl" lg2port 64 "$PORTS" -mode throughput -size 64 -window "$WINDOW" -duration "$DUR"
	done
	k=$((k + 1))
	for impl in $(order $k ours real); do
		run_loadgen "$round" "$impl" lgidle "$IDLE" "$PORTS" -mode throughput -size 64 -idle "$IDLE" -window "$WINDOW" -duration "$DUR"
	done
	k=$((k + 1))
	for impl in $(order $k ours real); do
		run_loadgen "$round" "$impl" pingpong 64 "$PORTS" -mode pingpong -size 64 -count "$PINGS"
	done
	k=$((k + 1))
	for impl in $(order $k ours real); do
		run_loadgen "$round" "$impl" fixedrate "$FIXED_RATE" "$PORTS" -mode throughput -size 64 -rate "$FIXED_RATE" -duration "$DUR"
	done
	k=$((k + 1))
	for impl in $(order $k ours real); do
		run_loadgen "$round" "$impl" flood "$FLOOD_CLIENTS" $((FLOOD_CLIENTS + 56)) -mode flood -clients "$FLOOD_CLIENTS" -rate "$FLOOD_RATE" -duration "$DUR"
	done
	k=$((k + 1))
	for impl in $(order $k ours real); do
		run_memory "$round" "$impl"
	done
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
