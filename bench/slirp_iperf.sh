#!/usr/bin/env bash
# bench/slirp_iperf.sh: TCP through a user-mode NAT router (slirp), govde's
# against slirp4netns (Debian package, libslirp), measured in the same run.
# A network namespace stands for the guest: a tap with the static address
# 10.0.2.15/24 and the default route via 10.0.2.2 (no DHCP); 10.0.2.2 is the
# router, which NATs it to the host's 127.0.0.1, where an iperf3 server
# listens (bound to 127.0.0.1 only). Each run is one iperf3 test from the
# namespace: *download* = `iperf3 -c 10.0.2.2 -R` (the host server sends to
# the guest), *upload* = without -R.
#
#   govde-switch  ns: tap ── `vde_switch -t TAP` (in the ns) ── unix socket ──
#                 `slirpvde -s DIR` (host ns): the usual VDE shape, a router
#                 on a switch
#   govde-direct  ns: tap ── `vde_plug slirp:// tap://TAP` (host ns; the
#                 tap is opened in the host ns, then moved into the ns):
#                 one process between the tap and the host's sockets, the
#                 same shape as slirp4netns
#   slirp4netns   ns: tap ── `slirp4netns --netns-type=path --mtu=M NS TAP`
#                 (host loopback allowed: 10.0.2.2 = the host's 127.0.0.1),
#                 at MTU 1500 and at 65520 (rootlesskit's and podman's
#                 choice; slirp4netns' own default is 1500)
#
# The comparison is at MTU 1500; every implementation also runs at 65520
# (govde: slirpvde --mtu / slirp:///mtu=, switch and plug --maxframe 65535). Every run starts
# fresh routers and taps. In each round every configuration runs once per
# direction, govde and slirp4netns interleaved and the order reversed every
# other round. The CPU of the router processes (slirpvde and the switch,
# vde_plug, slirp4netns) over each iperf3 run is read from /proc/PID/stat.
# The section written into bench/RESULTS.md (between <!-- slirp-iperf -->
# markers, through bench/section.py; the rest of the file is left alone)
# gives medians over the rounds with [min–max], ratios govde/slirp4netns at
# MTU 1500 and every run.
#
# Needs root, iproute2, iperf3, python3, busybox (ping) and slirp4netns
# (installed with apt-get when missing and root). Environment (defaults in
# brackets):
#   ROUNDS [5]  DUR [5] seconds per iperf3 run (after 1 omitted second)
#   SKIP_BUILD=1  use bin/ as it is (otherwise `make build` first)
#   QUICK=1       ROUNDS=1 DUR=3 (smoke run)
#   SLIRP4NETNS [slirp4netns from PATH]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then ROUNDS=${ROUNDS:-1} DUR=${DUR:-3}; fi
ROUNDS=${ROUNDS:-5}
DUR=${DUR:-5}
BIN=$ROOT/bin

log() { printf '%s\n' "$*" >&2; }
die() { log "slirp_iperf.sh: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, taps)"
for c in ip iperf3 python3 busybox; do command -v $c >/dev/null || die "$c is not installed (make deps)"; done
SLIRP4NETNS=${SLIRP4NETNS:-$(command -v slirp4netns || true)}
if [ -z "$SLIRP4NETNS" ]; then
	command -v apt-get >/dev/null || die "slirp4netns is not installed and there is no apt-get"
	log "slirp_iperf.sh: installing slirp4netns (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slirp4netns >/dev/null 2>&1 ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slirp4netns >/dev/null; } ||
		die "could not install slirp4netns (apt-get install slirp4netns)"
	SLIRP4NETNS=$(command -v slirp4netns) || die "slirp4netns still missing after apt-get"
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
	make -C "$ROOT" -s build >&2 || die "build failed"
fi
for t in vde vde_switch vde_plug slirpvde; do [ -x "$BIN/$t" ] || die "$BIN/$t missing (make build)"; done

WORK=$(mktemp -d /tmp/govde-slirpbench.XXXXXX)
chmod 700 "$WORK"
NS=gslb$$
TAP=gslb$$t
PIDS=()
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date +%s)
TCK=$(getconf CLK_TCK)

# stop_all ends the processes this script started, by their pids.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # stop_all
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_all
	ip link del "$TAP" 2>/dev/null || true
	ip -n "$NS" link del "$TAP" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS"
ip -n "$NS" link set lo up

wait_for() { # wait_for DESCRIPTION COMMAND...
	local what=$1; shift
	for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
	log "slirp_iperf.sh: timed out waiting for $what"
	return 1
}
has_tun() { ls -l "/proc/$1/fd" 2>/dev/null | grep -q /dev/net/tun; }
# cputicks PID: utime+stime of PID in clock ticks (0 when gone).
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start IMPL MTU: starts the router for IMPL with a tap named $TAP in the
# namespace; sets ROUTER (the slirp process) and HELPER (the switch, or
# empty). Returns non-zero when something did not come up.
start() {
	local impl=$1 mtu=$2
	ROUTER="" HELPER=""
	case $impl in
	govde-switch)
		ip netns exec "$NS" "$BIN/vde_switch" --nostdin --maxframe 65535 -s "$WORK/sw" -t "$TAP" </dev/null >>"$WORK/log" 2>&1 &
		HELPER=$!
		PIDS+=($HELPER)
		wait_for "the switch" test -S "$WORK/sw/ctl" || return 1
		wait_for "the switch's tap" ip -n "$NS" link show "$TAP" || return 1
		"$BIN/slirpvde" -q --mtu "$mtu" -s "$WORK/sw" </dev/null >>"$WORK/log" 2>&1 &
		ROUTER=$!
		PIDS+=($ROUTER)
		;;
	govde-direct)
		ip tuntap add dev "$TAP" mode tap
		"$BIN/vde_plug" --maxframe 65535 "slirp:///mtu=$mtu" "tap://$TAP" </dev/null >>"$WORK/log" 2>&1 &
		ROUTER=$!
		PIDS+=($ROUTER)
		wait_for "vde_plug to open the tap" has_tun "$ROUTER" || return 1
		ip link set "$TAP" netns "$NS"
		;;
	slirp4netns)
		"$SLIRP4NETNS" --netns-type=path --mtu="$mtu" "/var/run/netns/$NS" "$TAP" </dev/null >>"$WORK/log" 2>&1 &
		ROUTER=$!
		PIDS+=($ROUTER)
		wait_for "slirp4netns' tap" ip -n "$NS" link show "$TAP" || return 1
		;;
	esac
	ip -n "$NS" addr add 10.0.2.15/24 dev "$TAP"
	ip -n "$NS" link set "$TAP" mtu "$mtu" up
	ip -n "$NS" route add default via 10.0.2.2
	wait_for "the router to answer ping" ip netns exec "$NS" busybox ping -c1 -W1 10.0.2.2
}

# run IMPL MTU DIR: one fresh router, one iperf3 test; prints
# "Gbit/s retransmits router-CPU% helper-CPU%".
run() {
	local impl=$1 mtu=$2 dir=$3 rev=() port json=$WORK/iperf.json
	[ "$dir" = download ] && rev=(-R)
	rm -rf "$WORK/sw"
	if ! start "$impl" "$mtu"; then
		echo "0 0 0 0"
		stop_all
		ip link del "$TAP" 2>/dev/null || true
		ip -n "$NS" link del "$TAP" 2>/dev/null || true
		return
	fi
	port=$(free_port)
	iperf3 -s -1 -B 127.0.0.1 -p "$port" </dev/null >/dev/null 2>&1 &
	PIDS+=($!)
	wait_for "the iperf3 server" sh -c "ss -ltn | grep -q '127.0.0.1:$port '"
	local r0 h0=0 t0 t1 r1 h1=0
	r0=$(cputicks "$ROUTER")
	[ -n "$HELPER" ] && h0=$(cputicks "$HELPER")
	t0=$(date +%s.%N)
	if ! ip netns exec "$NS" iperf3 -c 10.0.2.2 -p "$port" "${rev[@]}" -O 1 -t "$DUR" -J >"$json" 2>/dev/null; then
		log "iperf3 failed ($impl, MTU $mtu, $dir)"
		echo "0 0 0 0"
	else
		t1=$(date +%s.%N)
		r1=$(cputicks "$ROUTER")
		[ -n "$HELPER" ] && h1=$(cputicks "$HELPER")
		python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["end"]
wall = float(sys.argv[3]) - float(sys.argv[2]); tck = float(sys.argv[4])
cpu = lambda a, b: 100.0 * (int(b) - int(a)) / tck / wall
print("%.3f %d %.0f %.0f" % (r["sum_received"]["bits_per_second"] / 1e9, r["sum_sent"].get("retransmits", 0),
      cpu(sys.argv[5], sys.argv[6]), cpu(sys.argv[7], sys.argv[8])))' "$json" "$t0" "$t1" "$TCK" "$r0" "$r1" "$h0" "$h1"
	fi
	stop_all
	# Taps created by a process go with it; the persistent one of
	# govde-direct is removed here.
	ip -n "$NS" link del "$TAP" 2>/dev/null || true
	wait_for "the tap to go" sh -c "! ip -n $NS link show $TAP" || true
}

CONFIGS=("govde-switch 1500" "slirp4netns 1500" "govde-direct 1500" "slirp4netns 65520" "govde-direct 65520" "govde-switch 65520")
RUNS=$WORK/runs.txt
: >"$RUNS"
n=0 total=$((ROUNDS * ${#CONFIGS[@]} * 2))
for r in $(seq "$ROUNDS"); do
	order=("${CONFIGS[@]}") dirs=(download upload)
	if [ $((r % 2)) = 0 ]; then # reversed: slirp4netns first, upload first
		order=() dirs=(upload download)
		for ((i = ${#CONFIGS[@]} - 1; i >= 0; i--)); do order+=("${CONFIGS[$i]}"); done
	fi
	for d in "${dirs[@]}"; do
		for c in "${order[@]}"; do
			set -- $c
			load=$(cut -d' ' -f1 /proc/loadavg)
			run "$1" "$2" "$d" >"$WORK/res" # not in a subshell: cleanup must see PIDS
			res=$(cat "$WORK/res")
			n=$((n + 1))
			set -- $c $res
			log "[$n/$total] round $r: $1 MTU $2 $d: $3 Gbit/s, $4 retransmits, router CPU $5%$([ "$1" = govde-switch ] && echo ", switch $6%") (load $load)"
			echo "$r $1 $2 $d $3 $4 $5 $6 $load" >>"$RUNS"
		done
	done
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
WALL=$(($(date +%s) - START))
GOVDE_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain -- . ':!bench/RESULTS.md' 2>/dev/null)" ]; then GOVDE_REV="$GOVDE_REV + uncommitted changes"; fi
S4N_VER=$("$SLIRP4NETNS" --version 2>/dev/null | awk '/^slirp4netns version/ {v=$3} /^libslirp:/ {l=$2} END {print v " (libslirp " l ")"}')
S4N_PKG=$(dpkg-query -W -f '${Version}' slirp4netns 2>/dev/null || echo unknown)
IPERF_VER=$(iperf3 --version 2>/dev/null | head -1)
GO_VER=$(go version 2>/dev/null || echo unknown)
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)

SECTION=$WORK/section.md
python3 - "$RUNS" "$ROUNDS" "$DUR" "$QUICK" "$LOAD_BEFORE" "$LOAD_AFTER" "$WALL" "$GOVDE_REV" "$S4N_VER" "$S4N_PKG" \
	"$(uname -r)" "$(nproc)" "$CPU_MODEL" "$GO_VER" "$IPERF_VER" >"$SECTION" <<'PY'
import statistics, sys, datetime
(runs, rounds, dur, quick, lb, la, wall, rev, s4nver, s4npkg, kernel, ncpu, cpumodel, gover, iperfver) = sys.argv[1:]
rows = []
for line in open(runs):
    r, impl, mtu, d, gbps, retr, rcpu, hcpu, load = line.split()
    rows.append(dict(r=int(r), impl=impl, mtu=int(mtu), dir=d, gbps=float(gbps), retr=int(retr),
                     rcpu=float(rcpu), hcpu=float(hcpu), load=load))
data = {}
for x in rows:
    data.setdefault((x["impl"], x["mtu"], x["dir"]), []).append(x)
med = statistics.median
NAMES = {
    "govde-switch": "govde: `vde_switch -t` + `slirpvde`",
    "govde-direct": "govde: `vde_plug slirp:// tap://`",
    "slirp4netns": "slirp4netns",
}
print("## Slirp: TCP between a guest and a host server (iperf3)")
print()
print("Generated by `bench/slirp_iperf.sh`. A network namespace is the guest: a tap with the static address 10.0.2.15/24 and "
      "the default route via the router 10.0.2.2 (no DHCP), which NATs 10.0.2.2 to the host's 127.0.0.1, where the iperf3 "
      "server listens. *Download* = `iperf3 -c 10.0.2.2 -R` (the host server sends to the guest), *upload* = the guest sends; "
      "%s s per run after 1 omitted second, fresh routers and taps for every run. Shapes: **govde-switch** = the tap is a port "
      "of `vde_switch -t` in the namespace, `slirpvde -s SWITCH` on the same switch (the usual VDE setup; two processes, one "
      "unix datagram hop); **govde-direct** = `vde_plug slirp:// tap://TAP`, one process between the tap and the host's "
      "sockets, the shape of slirp4netns; **slirp4netns** = `slirp4netns --netns-type=path --mtu=M` on the namespace (host "
      "loopback allowed). The headline comparison is at MTU 1500; all three also run at 65520 (rootlesskit's and podman's "
      "setting for slirp4netns; govde: `slirpvde --mtu 65520` on `vde_switch --maxframe 65535`, `vde_plug --maxframe 65535 "
      "slirp:///mtu=65520 tap://`)." % dur)
print()
if quick == "1":
    print("> **QUICK smoke run**: too few runs to draw conclusions.")
    print()
print("|  |  |")
print("|---|--:|")
print("| Date | %s |" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
print("| Kernel | `%s` |" % kernel)
print("| CPUs | %s × %s (shared with other work: read the ranges) |" % (ncpu, cpumodel))
print("| govde | %s, %s |" % (rev, gover))
print("| slirp4netns | %s, Debian package %s |" % (s4nver, s4npkg))
print("| iperf3 | %s |" % iperfver)
print("| Rounds | %s; every configuration once per direction per round, govde and slirp4netns interleaved, the order reversed every other round |" % rounds)
print("| Load average (1/5/15 min) | before: %s; after: %s (a run itself keeps about 3 tasks busy: iperf3 client and server, the router) |" % (lb, la))
print("| Wall time | %s s |" % wall)
print()
print("Figures are medians over the rounds with [min–max]. *Retransmits* = segments the sending TCP retransmitted "
      "(download: the host server's, over loopback; upload: the guest's, i.e. frames lost between the guest and the router). "
      "*Router CPU* = CPU time of the slirp process (slirpvde, vde_plug or slirp4netns) over the iperf3 run, in % of one "
      "CPU; for govde-switch the switch's is given separately.")
print()
for d in ("download", "upload"):
    base = data.get(("slirp4netns", 1500, d))
    bmed = med([x["gbps"] for x in base]) if base else None
    print("### %s" % d.capitalize())
    print()
    print("| Router | MTU | Gbit/s (median) | [min–max] | retransmits (median) | router CPU % | switch CPU % | vs slirp4netns at 1500 | per-round ratios [min–max] |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for impl, mtu in (("govde-switch", 1500), ("govde-direct", 1500), ("slirp4netns", 1500), ("govde-switch", 65520), ("govde-direct", 65520), ("slirp4netns", 65520)):
        v = data.get((impl, mtu, d))
        if not v:
            continue
        g = [x["gbps"] for x in v]
        m = med(g)
        ratio = "%.2f×" % (m / bmed) if bmed else "n/a"
        pr = "n/a"
        if base and not (impl == "slirp4netns" and mtu == 1500):
            b = {x["r"]: x["gbps"] for x in base}
            rr = [x["gbps"] / b[x["r"]] for x in v if b.get(x["r"])]
            if rr:
                pr = "%.2f–%.2f" % (min(rr), max(rr))
        if impl == "slirp4netns" and mtu == 1500:
            ratio, pr = "1", "—"
        hc = "%.0f" % med([x["hcpu"] for x in v]) if impl == "govde-switch" else "—"
        print("| %s | %d | %.2f | [%.2f–%.2f] | %d | %.0f | %s | %s | %s |" % (
            NAMES[impl], mtu, m, min(g), max(g), med([x["retr"] for x in v]), med([x["rcpu"] for x in v]), hc, ratio, pr))
    print()
low = [x for x in rows if x["gbps"] < 0.25 * med([y["gbps"] for y in data[(x["impl"], x["mtu"], x["dir"])]])]
if low:
    print("%d run(s) below a quarter of their row's median (the connection collapsed rather than slowed): %s." % (
        len(low), "; ".join("round %d %s MTU %d %s %.3f Gbit/s" % (x["r"], x["impl"], x["mtu"], x["dir"], x["gbps"]) for x in low)))
    print()
print("<details><summary>Every run</summary>")
print()
print("| Round | Router | MTU | Direction | Gbit/s | retransmits | router CPU % | switch CPU % | load (1 min) at start |")
print("|--:|---|--:|---|--:|--:|--:|--:|--:|")
for x in rows:
    print("| %d | %s | %d | %s | %.3f | %d | %.0f | %s | %s |" % (
        x["r"], x["impl"], x["mtu"], x["dir"], x["gbps"], x["retr"], x["rcpu"],
        "%.0f" % x["hcpu"] if x["impl"] == "govde-switch" else "—", x["load"]))
print()
print("</details>")
PY

python3 "$ROOT/bench/section.py" slirp-iperf <"$SECTION"
log "slirp_iperf.sh: section slirp-iperf written to bench/RESULTS.md"
