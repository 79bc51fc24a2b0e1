#!/usr/bin/env python3
"""Writes the switch-compare section of bench/RESULTS.md (and the SVG plot)
from the runs compare.sh collected; the sections other scripts write there
are kept.

Every figure in the report is computed here from the JSON lines of the runs:
medians over the rounds, [min-max] ranges, ratios ours/real and ours/relay,
whether each goal of issue 9 is met. Nothing is typed in by hand.
"""

import argparse
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot
import goals  # noqa: E402

# Metrics that are (near) zero for a good switch: a ratio of two small
# percentages says nothing, so the tables leave the ratio out.
NO_RATIO = {"loss_pct", "send_eagain_pct", "send_eagain", "lost", "never_answered", "starved", "idle_rx",
            "reordered", "duplicates", "bad_size", "send_timeouts"}

# Thresholds of the goals that issue 9 states as words, not numbers.
STARVE_MIN_OVER_MEDIAN = 0.9  # "no port starves": every port gets >= 90 % of the median port's share
SCALING_MIN = 0.95            # "within 5 % of the 2-port figure"
RSS_LIMIT_KB = 64 * 1024      # "under 64 MB RSS"


class Runs:
    def __init__(self, runs):
        self.all = runs
        self.ok = [r for r in runs if "error" not in r["result"]]
        for r in self.ok:
            res = r["result"]
            if "pings_sent" in res:
                res["never_answered"] = res["pings_sent"] - res["pongs_at_a"]
            if "rss_kb" in res:
                res["rss_mb"] = res["rss_kb"] / 1024
                res["hwm_mb"] = res["hwm_kb"] / 1024
                res["rss_start_mb"] = res["rss_start_kb"] / 1024
            # Fairness of the flood, per client: the lowest share over the
            # median share (shares = received or delivered / expected, so
            # that clients that sent one broadcast more or less compare).
            if res.get("rx_ratio_median"):
                res["rx_fair"] = res["rx_ratio_min"] / res["rx_ratio_median"]
            if res.get("tx_ratio_median"):
                res["tx_fair"] = res["tx_ratio_min"] / res["tx_ratio_median"]
            if "delivered_fps" in res:
                res["delivered_kfps"] = res["delivered_fps"] / 1e3
                res["offered_kfps"] = res.get("offered_fps", 0) / 1e3

    def results(self, impl, scen, param=None):
        return [r["result"] for r in self.ok
                if r["impl"] == impl and r["scenario"] == scen
                and (param is None or str(r["param"]) == str(param))]

    def values(self, impl, scen, key, param=None):
        return [r[key] for r in self.results(impl, scen, param) if key in r]

    def med(self, impl, scen, key, param=None):
        return med(self.values(impl, scen, key, param))

    def by_round(self, impl, scen, key, param=None):
        return {r["round"]: r["result"][key] for r in self.ok
                if r["impl"] == impl and r["scenario"] == scen
                and (param is None or str(r["param"]) == str(param)) and key in r["result"]}

    def params(self, scen):
        return sorted({int(r["param"]) for r in self.all if r["scenario"] == scen})

    def has(self, impl, scen):
        return any(r["impl"] == impl and r["scenario"] == scen for r in self.all)


def med(v):
    return statistics.median(v) if v else None


def num(v, digits):
    if v is None:
        return "n/a"
    if digits == 0:
        return "{:,}".format(int(round(v)))
    return "{:,.{d}f}".format(v, d=digits)


def cell(v, digits, spread=True):
    """median [min-max] of the values."""
    if not v:
        return "n/a"
    m = num(med(v), digits)
    if spread and len(v) > 1:
        return "%s [%s–%s]" % (m, num(min(v), digits), num(max(v), digits))
    return m


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "n/a"
    return "%.*f" % (digits, a / b)


def paired(R, scen, key, param=None, a="ours", b="real", scen_b=None, param_b=None):
    """min-max of the per-round ratios a/b (both ran in each round)."""
    if key in NO_RATIO:
        return ""
    x = R.by_round(a, scen, key, param)
    y = R.by_round(b, scen_b or scen, key, param if param_b is None else param_b)
    rs = [x[k] / y[k] for k in x if k in y and y[k]]
    if len(rs) < 2:
        return ""
    return "%.2f–%.2f" % (min(rs), max(rs))


def table(head, rows, numeric=True):
    """A Markdown table; the columns after the first are right-aligned when numeric."""
    sep = ["---" if i == 0 or not numeric else "--:" for i in range(len(head))]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(sep) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def metric_rows(R, scen, metrics, param=None, impls=("ours", "real")):
    """Rows: metric, one column per implementation, ratio ours/real, per-round ratios."""
    rows = []
    for label, key, digits in metrics:
        vals = [R.values(i, scen, key, param) for i in impls]
        row = [label] + [cell(v, digits) for v in vals]
        row += ["–" if key in NO_RATIO else ratio(med(vals[0]), med(vals[1])), paired(R, scen, key, param)]
        rows.append(row)
    return rows


def met(ok):
    if ok is None:
        return "n/a"
    return "**yes**" if ok else "**no**"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--meta", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--notes", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--svg", required=True)
    a = ap.parse_args()
    meta = json.load(open(a.meta))
    with open(a.results) as f:
        runs = [json.loads(line) for line in f if line.strip()]
    notes = [line.rstrip("\n") for line in open(a.notes) if line.strip()]
    R = Runs(runs)
    svgname = os.path.basename(a.svg)
    plot.write_svg(a.svg, runs, subtitle=meta["date"])
    relay = meta.get("relay", True) and R.has("relay", "clients")
    impls3 = ("ours", "real", "relay") if relay else ("ours", "real")

    md = []
    w = md.append
    w("## govde vs the original vde_switch (`bench/compare.sh`)")
    w("")
    w("Generated by `bench/compare.sh` (clients: `bench/clients`, load generator: "
      "`bench/cmd/loadgen`), which rewrites only this section; do not edit by hand, "
      "rerun the script. Method, definitions and caveats: [README.md](README.md).")
    w("")
    if meta.get("quick"):
        w("> **QUICK smoke run** (%d round, %s per run; load average before it: %s): it shows that "
          "the harness works end to end, but one run per figure on a shared machine is too few to "
          "draw conclusions. The figures to rely on come from `bench/compare.sh` (5 rounds) on a "
          "quiet machine." % (meta["rounds"], meta["dur"], meta["load_before"]))
        w("")
    md += table(["Machine and run", ""], [
        ["Date", meta["date"]],
        ["Kernel", "`%s`" % meta["kernel"]],
        ["CPU", "%s, %s CPUs (`nproc`)" % (meta["cpu"], meta["nproc"])],
        ["Go, gcc", "%s; gcc %s" % (meta["go"], meta.get("gcc", "?"))],
        ["Original switch", meta["real"]],
        ["libvdeplug (clients)", "Debian libvdeplug-dev %s (vdeplug4)" % meta.get("libvdeplug", "?")],
        ["govde switch", meta["ours"]],
        ["net.unix.max_dgram_qlen", meta["qlen"]],
        ["Rounds", "%d; in each round every scenario runs on every implementation, the order "
                   "rotating, each run on a fresh switch" % meta["rounds"]],
        ["Switches started", "in the foreground, in the script's session like the clients and the relay "
                             "(the original's console on a fifo held open)"
         if meta.get("switch_mode", "daemon") == "fg" else
         "as daemons (`-d`): each lands in a scheduling autogroup of its own"],
        ["Run length", "%s of sending per throughput/flood run; %d measured round trips per ping-pong run"
         % (meta["dur"], meta["pings"])],
        ["Load average (1/5/15 min)", "before: %s; after: %s" % (meta["load_before"], meta.get("load_after", "?"))],
        ["Runs", "%d (%d failed)" % (len(runs), len(runs) - len(R.ok))],
        ["Wall time", "%d s" % meta.get("wall_s", 0)],
    ], numeric=False)
    w("")
    w("Figures are **medians over the rounds**, with [min–max] across rounds. "
      "*ratio* = median(ours) / median(other); *per-round ratios* = range of "
      "ours/other within each round (the runs of a round are back to back). The machine is shared: "
      "read the ranges before the medians.")
    w("")

    # ------------------------------------------------------------ goals
    w("### Goals of issue 9")
    w("")
    w("One row per goal figure this script measures. *met* is judged on the medians%s."
      % (" (one round: indicative only)" if meta["rounds"] < 3 else ""))
    w("")
    rows = []

    def goal_row(label, o, r, rl, rat, per, goal, ok, d):
        rows.append([label, num(o, d), num(r, d), num(rl, d) if relay else "–", rat, per, goal, met(ok)])

    o64 = R.med("ours", "clients", "delivered_fps", 64)
    r64 = R.med("real", "clients", "delivered_fps", 64)
    l64 = R.med("relay", "clients", "delivered_fps", 64)
    goal_row("64 B, 2 libvdeplug clients: delivered frames/s vs real", o64, r64, l64, ratio(o64, r64),
             paired(R, "clients", "delivered_fps", 64), "≥ 1.30× real",
             None if not (o64 and r64) else o64 / r64 >= 1.3, 0)
    if relay:
        goal_row("64 B, 2 libvdeplug clients: delivered frames/s vs relay", o64, r64, l64, ratio(o64, l64),
                 paired(R, "clients", "delivered_fps", 64, b="relay"), "≥ 0.90× relay",
                 None if not (o64 and l64) else o64 / l64 >= 0.9, 0)
    lo = R.med("ours", "clients", "loss_pct", 64)
    goal_row("64 B: loss %", lo, R.med("real", "clients", "loss_pct", 64), R.med("relay", "clients", "loss_pct", 64),
             "–", "", "ours ≤ 0.1 %", None if lo is None else lo <= 0.1, 2)
    og = R.med("ours", "clients", "delivered_gbps", 1500)
    rg = R.med("real", "clients", "delivered_gbps", 1500)
    goal_row("1500 B, 2 libvdeplug clients: delivered Gbit/s", og, rg, R.med("relay", "clients", "delivered_gbps", 1500),
             ratio(og, rg), paired(R, "clients", "delivered_gbps", 1500), "≥ 1.30× real",
             None if not (og and rg) else og / rg >= 1.3, 3)
    lo = R.med("ours", "clients", "loss_pct", 1500)
    goal_row("1500 B: loss %", lo, R.med("real", "clients", "loss_pct", 1500),
             R.med("relay", "clients", "loss_pct", 1500), "–", "", "ours ≤ 0.1 %",
             None if lo is None else lo <= 0.1, 2)
    for q in ("p50", "p99"):
        o, r = R.med("ours", "pingpong", q + "_us"), R.med("real", "pingpong", q + "_us")
        rows.append(["Ping-pong round trip %s (µs, 64 B)" % q, num(o, 1), num(r, 1), "–", ratio(o, r),
                     paired(R, "pingpong", q + "_us"), "≤ real", met(None if not (o and r) else o <= r)])
    # Scaling: the 64 B figure with IDLE idle clients over the one without, same client pair.
    sc = {}
    for impl in ("ours", "real"):
        sc[impl] = ratio(R.med(impl, "clidle", "delivered_fps", 64), R.med(impl, "clients", "delivered_fps", 64), 3)
    o = sc["ours"]
    rows.append(["%d idle clients attached: 64 B delivered frames/s with / without (libvdeplug clients)"
                 % meta["idle"], o, sc["real"], "–", "–",
                 paired(R, "clidle", "delivered_fps", 64, a="ours", b="ours", scen_b="clients"),
                 "ours ≥ %.2f" % SCALING_MIN, met(None if o == "n/a" else float(o) >= SCALING_MIN)])
    lg = {}
    for impl in ("ours", "real"):
        lg[impl] = ratio(R.med(impl, "lgidle", "delivered_fps"), R.med(impl, "lg2port", "delivered_fps"), 3)
    o = lg["ours"]
    rows.append(["%d idle clients attached: 64 B delivered frames/s with / without (loadgen, window %d)"
                 % (meta["idle"], meta["window"]), o, lg["real"], "–", "–",
                 paired(R, "lgidle", "delivered_fps", None, a="ours", b="ours", scen_b="lg2port"),
                 "ours ≥ %.2f" % SCALING_MIN, met(None if o == "n/a" else float(o) >= SCALING_MIN)])
    for key, what in (("rx_fair", "received"), ("tx_fair", "delivered to the others")):
        o, r = R.med("ours", "flood", key), R.med("real", "flood", key)
        rows.append(["%d-port broadcast flood: per-client share of broadcasts %s, min / median"
                     % (meta["flood_clients"], what), num(o, 3), num(r, 3), "–", ratio(o, r),
                     paired(R, "flood", key), "ours ≥ %.2f (no port starves)" % STARVE_MIN_OVER_MEDIAN,
                     met(None if o is None else o >= STARVE_MIN_OVER_MEDIAN)])
    o, r = R.med("ours", "memory", "rss_mb"), R.med("real", "memory", "rss_mb")
    rows.append(["Switch with %d idle ports: VmRSS (MB)" % meta["mem_clients"], num(o, 1), num(r, 1), "–",
                 ratio(o, r), paired(R, "memory", "rss_mb"), "ours < 64 MB",
                 met(None if o is None else o * 1024 < RSS_LIMIT_KB)])
    md += table(["Goal figure", "ours", "real", "relay", "ratio ours/other", "per-round ratios", "goal", "met"], rows)
    goals.save("compare", "bench/compare.sh", meta["date"], "%s, %s CPUs, kernel %s" % (meta["cpu"], meta["nproc"], meta["kernel"]),
               [{"figure": r[0], "ours": r[1], "ref": r[3] if "relay" in r[0] else r[2],
                 "ref_name": "relay" if "relay" in r[0] else "real", "ratio": r[4], "goal": r[6], "met": r[7]}
                for r in rows], quick=bool(meta.get("quick")))
    w("")
    w("Not measured by this script: kernel TCP through taps (`bench/tap_iperf.sh`, its own section) "
      "and the in-process fabric (`bench/gobench.sh`, the Go benchmarks' section).")
    w("")
    w("Other figures (no goal):")
    w("")
    rows = []

    def orow(label, scen, key, d, param=None, impls=("ours", "real")):
        vals = {i: R.med(i, scen, key, param) for i in impls}
        rows.append([label, num(vals.get("ours"), d), num(vals.get("real"), d),
                     num(vals.get("relay"), d) if "relay" in impls else "–",
                     ratio(vals.get("ours"), vals.get("real")), paired(R, scen, key, param)])

    orow("64 B flat out: switch CPU % of a core", "clients", "switch_cpu_pct", 0, 64, impls3)
    orow("1500 B flat out: switch CPU % of a core", "clients", "switch_cpu_pct", 0, 1500, impls3)
    orow("Fixed %s frames/s (64 B): switch CPU %% of a core" % num(meta["fixed_rate"], 0),
         "fixedrate", "switch_cpu_pct", 1)
    orow("%d-port flood: switch CPU %% of a core" % meta["flood_clients"], "flood", "switch_cpu_pct", 1)
    orow("Switch with %d idle ports: VmHWM (MB)" % meta["mem_clients"], "memory", "hwm_mb", 1)
    md += table(["Figure", "ours", "real", "relay", "ratio ours/real", "per-round ratios"], rows)
    w("")

    # ------------------------------------------------------------ clients
    sizes = R.params("clients")
    w("### Two libvdeplug clients, flat out, against frame size")
    w("")
    w("`bench/clients/vderecv` (port 1) counts with `vde_recv()` the frames from the sender's "
      "MAC to its own; `bench/clients/vdesend` (port 2) sends unicast frames to it with ordinary "
      "blocking `vde_send()` calls as fast as they return, for %s, after both MACs were learned "
      "(broadcast hellos). The data socket of libvdeplug's `vde://` client is blocking, so a frame "
      "counted as sent was accepted into the switch's input socket, and *loss* = 1 − received/sent "
      "is what the switch dropped (mostly at its output to the receiver, whose socket queue holds "
      "`net.unix.max_dgram_qlen` = %s datagrams). *relay* = `bench/clients/relay`, the plain C relay "
      "(vde2 handshake, then one blocking `recv()` and one blocking `send()` per frame): it never "
      "drops, it blocks the sender instead. Rates are per second of sending; CPU is over the sending "
      "interval, in %% of one core." % (meta["dur"], meta["qlen"]))
    w("")
    rows = []
    for s in sizes:
        row = [s]
        for i in impls3:
            row.append(cell(R.values(i, "clients", "delivered_kfps", s), 1))
        row.append(ratio(R.med("ours", "clients", "delivered_fps", s), R.med("real", "clients", "delivered_fps", s)))
        row.append(paired(R, "clients", "delivered_fps", s))
        if relay:
            row.append(ratio(R.med("ours", "clients", "delivered_fps", s),
                             R.med("relay", "clients", "delivered_fps", s)))
        for i in impls3:
            row.append(num(R.med(i, "clients", "delivered_gbps", s), 3))
        rows.append(row)
    head = ["Frame (B)"] + ["%s delivered kframes/s" % i for i in impls3] + ["ours/real", "per-round"]
    if relay:
        head.append("ours/relay")
    head += ["%s Gbit/s" % i for i in impls3]
    md += table(head, rows)
    w("")
    w("Where the frames and the time go (medians): *sent* = frames the switch's input socket accepted.")
    w("")
    rows = []
    for s in sizes:
        row = [s]
        for key, d in (("offered_kfps", 1), ("loss_pct", 2), ("switch_cpu_pct", 0), ("sender_cpu_pct", 0),
                       ("receiver_cpu_pct", 0)):
            row.append(" / ".join(num(R.med(i, "clients", key, s), d) for i in impls3))
        rows.append(row)
    w("Each cell: %s." % " / ".join(impls3))
    w("")
    md += table(["Frame (B)", "sent kframes/s", "loss %", "switch (relay) CPU %", "sender CPU %",
                 "receiver CPU %"], rows)
    w("")
    w("![Delivered throughput against frame size, both switches and the relay](%s)" % svgname)
    w("")

    # ------------------------------------------------------------ scaling
    w("### Scaling: %d idle clients attached" % meta["idle"])
    w("")
    w("The same 64-byte two-client run with %d more clients attached first (`loadgen -mode idle`: "
      "each sends one broadcast hello, so that the switch learns its MAC, then only reads). "
      "*with / without* = this median over the median of the two-client run at 64 B above. "
      "*idle rx* = unicast data frames that reached an idle client (should be 0)." % meta["idle"])
    w("")
    rows = metric_rows(R, "clidle", [
        ("delivered frames/s", "delivered_fps", 0), ("loss %", "loss_pct", 2),
        ("switch CPU %", "switch_cpu_pct", 0), ("idle rx (frames)", "idle_rx", 0),
        ("attach time of the idle clients (ms)", "connect_ms", 1)], 64)
    rows.append(["delivered with / without idle clients", sc["ours"], sc["real"], "", ""])
    md += table(["libvdeplug clients", "ours", "real", "ratio", "per-round ratios"], rows)
    w("")
    w("The same with loadgen's clients (`sendmmsg`/`recvmmsg` batches, at most %d frames in flight), "
      "with and without %d idle clients:" % (meta["window"], meta["idle"]))
    w("")
    rows = metric_rows(R, "lg2port", [("2 clients: delivered frames/s", "delivered_fps", 0),
                                      ("2 clients: switch CPU %", "switch_cpu_pct", 0)])
    rows += metric_rows(R, "lgidle", [("+ idle: delivered frames/s", "delivered_fps", 0),
                                      ("+ idle: loss %", "loss_pct", 2),
                                      ("+ idle: switch CPU %", "switch_cpu_pct", 0),
                                      ("+ idle: idle rx (frames)", "idle_rx", 0)])
    rows.append(["delivered with / without idle clients", lg["ours"], lg["real"], "", ""])
    md += table(["loadgen", "ours", "real", "ratio", "per-round ratios"], rows)
    w("")

    # ------------------------------------------------------------ flood
    w("### Broadcast flood: %d clients, %s broadcasts/s each" % (meta["flood_clients"], num(meta["flood_rate"], 0)))
    w("")
    w("Every client sends 64-byte broadcasts at a fixed rate (evenly spread) and counts what it "
      "receives, and from whom; a perfect switch delivers each broadcast to the %d others. Per client: "
      "*received* = broadcasts it received; *delivered* = copies of its own broadcasts that reached the "
      "others; *ratio* = over what a perfect switch would have delivered (its share). The goal rows "
      "take the lowest share over the median share (close to 1 = no port starves, on either its "
      "output or its input); *starved* = clients that received less than half their share."
      % (meta["flood_clients"] - 1))
    w("")
    md += table(["", "ours", "real", "ratio", "per-round ratios"], metric_rows(R, "flood", [
        ("broadcasts sent", "sent", 0), ("deliveries expected", "expected", 0),
        ("delivered frames/s", "delivered_fps", 0), ("loss %", "loss_pct", 3),
        ("per-client received: min", "rx_min", 0), ("per-client received: median", "rx_median", 0),
        ("per-client received: max", "rx_max", 0), ("per-client received: min / median", "rx_min_over_median", 4),
        ("per-client received ratio: min", "rx_ratio_min", 4),
        ("per-client received ratio: median", "rx_ratio_median", 4),
        ("per-client delivered: min", "tx_delivered_min", 0),
        ("per-client delivered: median", "tx_delivered_median", 0),
        ("per-client delivered: max", "tx_delivered_max", 0),
        ("per-client delivered: min / median", "tx_min_over_median", 4),
        ("per-client delivered ratio: min", "tx_ratio_min", 4),
        ("per-client delivered ratio: median", "tx_ratio_median", 4),
        ("per-client sent: min", "sent_min", 0), ("per-client sent: max", "sent_max", 0),
        ("starved clients", "starved", 0), ("send EAGAIN (frames)", "send_eagain", 0),
        ("switch CPU %", "switch_cpu_pct", 1), ("loadgen CPU %", "loadgen_cpu_pct", 1),
        ("attach time of %d clients (ms)" % meta["flood_clients"], "connect_ms", 1)]))
    w("")

    # ------------------------------------------------------------ memory
    w("### Memory: %d idle ports" % meta["mem_clients"])
    w("")
    w("A fresh switch (`-n %d`), %d clients attached (`loadgen -mode idle`: one broadcast hello each, "
      "so every port has a learned MAC and every client received %d broadcasts), then %s s later "
      "`VmRSS` and `VmHWM` (peak) from `/proc/PID/status` of the switch process."
      % (meta["mem_clients"] + 44, meta["mem_clients"], meta["mem_clients"] - 1, meta["mem_settle"]))
    w("")
    md += table(["", "ours", "real", "ratio", "per-round ratios"], metric_rows(R, "memory", [
        ("VmRSS before attaching (MB)", "rss_start_mb", 1), ("VmRSS (MB)", "rss_mb", 1),
        ("VmHWM (MB)", "hwm_mb", 1), ("threads", "threads", 0), ("open fds", "fds", 0),
        ("attach time (ms)", "connect_ms", 0)]))
    w("")

    # ------------------------------------------------------------ latency
    w("### Round-trip latency (ping-pong, 64 B)")
    w("")
    pp = R.results("ours", "pingpong") or R.results("real", "pingpong") or [{"warmup": 0}]
    w("loadgen: A sends one frame to B, B echoes it at once, A sends the next when the echo "
      "arrives; the send time travels in the payload. %d warm-up round trips are "
      "not counted." % pp[0].get("warmup", 0))
    w("")
    md += table(["µs (lower is better)", "ours", "real", "ratio", "per-round ratios"], metric_rows(R, "pingpong", [
        ("min", "min_us", 1), ("p50", "p50_us", 1), ("p90", "p90_us", 1), ("p99", "p99_us", 1),
        ("max", "max_us", 1), ("mean", "mean_us", 1), ("round trips/s", "round_trips_per_s", 0),
        ("timed out (no echo within 100 ms)", "lost", 0),
        ("never answered (no echo at all)", "never_answered", 0), ("switch CPU %", "switch_cpu_pct", 1)]))
    w("")

    # ------------------------------------------------------------ fixed rate
    w("### Fixed offered load: 64 B at %s frames/s" % num(meta["fixed_rate"], 0))
    w("")
    w("loadgen's two clients, paced (sleeps of a few µs between small batches). "
      "Below both switches' capacity, this compares loss and CPU cost at equal work.")
    w("")
    md += table(["", "ours", "real", "ratio", "per-round ratios"], metric_rows(R, "fixedrate", [
        ("offered frames/s", "offered_fps", 0), ("delivered frames/s", "delivered_fps", 0),
        ("loss %", "loss_pct", 3), ("send EAGAIN %", "send_eagain_pct", 2),
        ("switch CPU % of a core", "switch_cpu_pct", 1), ("loadgen CPU %", "loadgen_cpu_pct", 1)]))
    w("")

    # ------------------------------------------------------------ anomalies
    w("### Anomalies seen in this run")
    w("")
    auto = []
    lossy = {}
    for rr in R.ok:
        res = rr["result"]
        tag = "round %d %s %s %s" % (rr["round"], rr["impl"], rr["scenario"], rr["param"])
        if res.get("bad_size"):
            auto.append("%s: %d frames arrived with a different size" % (tag, res["bad_size"]))
        if res.get("reordered") or res.get("duplicates"):
            auto.append("%s: %d frames out of order, %d duplicated" % (tag, res.get("reordered", 0),
                                                                       res.get("duplicates", 0)))
        if res.get("idle_rx"):
            auto.append("%s: %d unicast frames reached idle clients" % (tag, res["idle_rx"]))
        if res.get("end") and res["end"] != "marker":
            auto.append("%s: the receiver stopped on %s (the sender's end markers did not arrive)"
                        % (tag, res["end"]))
        if res.get("send_timeouts"):
            auto.append("%s: %d blocking sends gave up after 1 s" % (tag, res["send_timeouts"]))
        if res.get("lost"):
            extra = ""
            if "never_answered" in res:
                extra = "; %d never answered" % res["never_answered"]
            auto.append("%s: %d ping-pong round trips timed out (no echo within 100 ms%s)"
                        % (tag, res["lost"], extra))
        if res.get("send_errors"):
            auto.append("%s: %d send errors" % (tag, res["send_errors"]))
        if res.get("starved"):
            auto.append("%s: %d of %d flood clients starved (received less than half)"
                        % (tag, res["starved"], res["clients"]))
        if rr["scenario"] == "fixedrate" and res.get("send_eagain"):
            auto.append("%s: %d frames refused by the switch's full input socket at the fixed rate "
                        "(it stopped reading for more than %s frame intervals at least once)"
                        % (tag, res["send_eagain"], meta["qlen"]))
        if rr["scenario"] not in ("clients", "clidle") and "loss_pct" in res:
            k = (rr["impl"], rr["scenario"])
            n, tot, worst = lossy.get(k, (0, 0, 0.0))
            lossy[k] = (n + (res["loss_pct"] > 1), tot + 1, max(worst, res["loss_pct"]))
    for (impl, scen), (n, tot, worst) in sorted(lossy.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if n:
            auto.append("%s %s: %d of %d runs lost more than 1 %% (worst %.2f %%)" % (impl, scen, n, tot, worst))
    items = notes + auto
    if items:
        w("Listed automatically: failed runs, switches that exited early or needed SIGKILL, frames that "
          "changed size, came out of order or twice, unicast frames that reached idle clients, lost end "
          "markers, timed-out round trips, send errors, starved flood clients, EAGAIN at the fixed rate, "
          "and (per switch and loadgen scenario) runs that lost more than 1 %.")
        w("")
        for n in items:
            w("- " + n)
    else:
        w("None: every run completed, every switch exited on SIGTERM, no frame changed size or order, "
          "no unicast frame reached an idle client, no ping-pong round trip timed out, no loadgen run "
          "lost more than 1 %.")
    w("")

    # ------------------------------------------------------------ reproduce
    w("### Reproduce")
    w("")
    w("```sh")
    w("bench/compare.sh                 # default: ROUNDS=5, DUR=2s")
    w("QUICK=1 bench/compare.sh         # smoke run: 1 round, DUR=1s, sizes 64 and 1500")
    w("ROUNDS=9 DUR=3s bench/compare.sh # longer")
    w("# the libvdeplug clients by hand, against any switch directory:")
    w("gcc -O2 -o /tmp/vdesend bench/clients/vdesend.c -lvdeplug")
    w("gcc -O2 -o /tmp/vderecv bench/clients/vderecv.c -lvdeplug")
    w("/tmp/vderecv vde:///tmp/sw & sleep 0.5; /tmp/vdesend -s 64 -t 3 vde:///tmp/sw; wait")
    w("```")
    w("")
    w("This run used: ROUNDS=%d DUR=%s SIZES=\"%s\" RELAY=%d WINDOW=%d PINGS=%d FIXED_RATE=%d IDLE=%d "
      "FLOOD_CLIENTS=%d FLOOD_RATE=%s MEM_CLIENTS=%d%s."
      % (meta["rounds"], meta["dur"], meta["sizes"], 1 if meta.get("relay", True) else 0, meta["window"],
         meta["pings"], meta["fixed_rate"], meta["idle"], meta["flood_clients"], meta["flood_rate"],
         meta["mem_clients"], " QUICK=1" if meta.get("quick") else ""))
    w("")

    # ------------------------------------------------------------ raw
    w("### Every run")
    w("")
    w("<details><summary>%d runs (click to expand)</summary>" % len(runs))
    w("")
    rows = []
    for rr in runs:
        res = rr["result"]
        if "error" in res:
            fig = "ERROR: " + res["error"]
        elif res["mode"] == "pingpong":
            fig = "p50 %.1f µs, p90 %.1f, p99 %.1f, max %.1f, timed out %d" % (
                res["p50_us"], res["p90_us"], res["p99_us"], res["max_us"], res["lost"])
        elif res["mode"] == "flood":
            fig = ("sent %d, delivered %d/%d (loss %.3f %%), per-client share received min/median %.4f, "
                   "delivered min/median %.4f") % (
                res["sent"], res["delivered"], res["expected"], res["loss_pct"],
                res.get("rx_fair", 0), res.get("tx_fair", 0))
        elif res["mode"] == "memory":
            fig = "%d clients: VmRSS %.1f MB (%.1f MB before), VmHWM %.1f MB, %d threads, %d fds" % (
                res["clients"], res["rss_mb"], res["rss_start_mb"], res["hwm_mb"], res["threads"], res["fds"])
        else:
            fig = "sent %s/s, delivered %s/s (%.3f Gbit/s), loss %.2f %%" % (
                num(res["offered_fps"], 0), num(res["delivered_fps"], 0), res["delivered_gbps"], res["loss_pct"])
            if res.get("send_eagain_pct"):
                fig += ", send EAGAIN %.1f %%" % res["send_eagain_pct"]
            if res.get("rate_target"):
                fig += ", target %s/s" % num(res["rate_target"], 0)
        cpu = res.get("switch_cpu_pct", "")
        rows.append([rr["round"], rr["impl"], rr["scenario"], rr["param"], fig, cpu, rr.get("load1", "")])
    md += table(["Round", "Switch", "Scenario", "Param", "Result", "Switch CPU %", "Load avg (1 min) at start"],
                rows, numeric=False)
    w("")
    w("</details>")
    w("")
    write_section(a.md, "\n".join(md).rstrip("\n"))


SECTION = "switch-compare"
LEGACY_TITLE = "# govde vs the original vde_switch: benchmark results"


def write_section(path, body):
    """Replace this script's marked section of path (bench/section.py's
    convention: <!-- NAME --> ... <!-- /NAME -->), keeping the sections
    other benchmark scripts write; append it when absent."""
    block = "<!-- %s -->\n%s\n<!-- /%s -->" % (SECTION, body, SECTION)
    text = open(path).read() if os.path.exists(path) else ""
    if text.startswith(LEGACY_TITLE):
        # Written by an older version, which owned the whole file: drop
        # that part, keep any marked sections appended after it since.
        i = text.find("\n<!-- ")
        text = "" if i < 0 else "# govde benchmark results\n" + text[i:]
    if not text.strip():
        text = "# govde benchmark results\n"
    pat = re.compile(r"<!-- %s -->.*?<!-- /%s -->" % (re.escape(SECTION), re.escape(SECTION)), re.S)
    if pat.search(text):
        text = pat.sub(lambda _: block, text)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


if __name__ == "__main__":
    main()
