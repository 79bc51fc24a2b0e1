#!/usr/bin/env python3
"""Hand-written SVG line chart of throughput against frame size (stdlib only).

Used by report.py; can also be run on its own:

    python3 bench/plot.py results.jsonl throughput.svg

where results.jsonl holds the lines compare.sh collects. Each panel shows the
median over the rounds as a line and the min-max range as a bar.
"""

import json
import math
import statistics
import sys
from xml.sax.saxutils import escape

COLORS = {"ours": "#1f77b4", "real": "#d62728", "relay": "#7f7f7f"}
LABELS = {"ours": "govde vde_switch", "real": "original vde_switch (C)",
          "relay": "plain C relay (recv, send)"}
DASH = {"relay": ' stroke-dasharray="6,4"'}
SCENARIO = "clients"  # compare.sh's libvdeplug-client sweep


def sweep(runs):
    """{impl: {size: [result, ...]}} for the frame-size sweep runs."""
    out = {}
    for r in runs:
        if r.get("scenario") != SCENARIO or "error" in r["result"]:
            continue
        out.setdefault(r["impl"], {}).setdefault(int(r["param"]), []).append(r["result"])
    return out


def nice_max(v):
    """A round axis maximum >= v."""
    if v <= 0:
        return 1.0
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * e >= v:
            return m * e
    return 10 * e


def fmt(v):
    return ("%.3f" % v).rstrip("0").rstrip(".") if v else "0"


def panel(x0, y0, w, h, title, ylabel, data, sizes):
    """SVG elements of one panel. data: {impl: {size: [values]}}."""
    el = []
    left, right, top, bottom = 62, 22, 30, 44
    pw, ph = w - left - right, h - top - bottom
    ox, oy = x0 + left, y0 + top
    ymax = nice_max(max((max(v) for d in data.values() for v in d.values()), default=1))
    lx0, lx1 = math.log2(min(sizes)), math.log2(max(sizes))
    span = (lx1 - lx0) or 1

    def X(s):
        return ox + pw * (math.log2(s) - lx0) / span

    def Y(v):
        return oy + ph - ph * v / ymax

    el.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="14" font-weight="bold">%s</text>'
              % (ox + pw / 2, y0 + 18, escape(title)))
    for i in range(6):
        v = ymax * i / 5
        y = Y(v)
        el.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>' % (ox, y, ox + pw, y))
        el.append('<text x="%.1f" y="%.1f" text-anchor="end" font-size="11">%s</text>' % (ox - 5, y + 4, fmt(v)))
    for s in sizes:
        x = X(s)
        el.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>' % (x, oy, x, oy + ph))
        el.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11">%d</text>' % (x, oy + ph + 15, s))
    el.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>' % (ox, oy, pw, ph))
    el.append('<text x="%.1f" y="%.1f" text-anchor="middle" font-size="12">frame size (bytes, log scale)</text>'
              % (ox + pw / 2, oy + ph + 34))
    el.append('<text transform="translate(%.1f,%.1f) rotate(-90)" text-anchor="middle" font-size="12">%s</text>'
              % (x0 + 16, oy + ph / 2, escape(ylabel)))
    for impl in ("relay", "real", "ours"):
        d = data.get(impl)
        if not d:
            continue
        c = COLORS[impl]
        dx = {"real": -4, "ours": 4}.get(impl, 0)  # keep the range bars apart
        pts = []
        for s in sorted(d):
            vals = d[s]
            med = statistics.median(vals)
            x = X(s) + dx
            pts.append("%.1f,%.1f" % (x, Y(med)))
            if len(vals) > 1:
                el.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" opacity="0.6"/>'
                          % (x, Y(min(vals)), x, Y(max(vals)), c))
                for v in (min(vals), max(vals)):
                    el.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" opacity="0.6"/>'
                              % (x - 4, Y(v), x + 4, Y(v), c))
            el.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s %d B: median %s (%d runs)</title></circle>'
                      % (x, Y(med), c, escape(LABELS[impl]), s, fmt(med), len(vals)))
        el.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>'
                  % (" ".join(pts), c, DASH.get(impl, "")))
    return el


def write_svg(path, runs, subtitle=""):
    """Write the chart of the throughput sweep in runs to path."""
    sw = sweep(runs)
    sizes = sorted({s for d in sw.values() for s in d})
    if not sizes:
        raise SystemExit("plot: no %s runs" % SCENARIO)
    gbps = {i: {s: [r["delivered_gbps"] for r in rs] for s, rs in d.items()} for i, d in sw.items()}
    mfps = {i: {s: [r["delivered_fps"] / 1e3 for r in rs] for s, rs in d.items()} for i, d in sw.items()}
    W, H, pw = 900, 400, 450
    el = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
          'font-family="sans-serif">' % (W, H, W, H),
          '<rect width="100%" height="100%" fill="white"/>']
    el += panel(0, 20, pw, H - 60, "Delivered Gbit/s", "Gbit/s (frame bytes x 8)", gbps, sizes)
    el += panel(pw, 20, pw, H - 60, "Delivered frames/s", "thousand frames/s", mfps, sizes)
    el.append('<text x="%d" y="16" text-anchor="middle" font-size="12" fill="#555">%s</text>'
              % (W / 2, escape("2 libvdeplug clients, unicast A to B, blocking vde_send() flat out; "
                               "median of the rounds, bars: min-max" + (" - " + subtitle if subtitle else ""))))
    impls = [i for i in ("ours", "real", "relay") if i in sw]
    lx = W / 2 - 115 * len(impls)
    for i, impl in enumerate(impls):
        x = lx + i * 230
        el.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="3"%s/>'
                  % (x, H - 14, x + 24, H - 14, COLORS[impl], DASH.get(impl, "")))
        el.append('<text x="%.1f" y="%d" font-size="12">%s</text>' % (x + 30, H - 10, escape(LABELS[impl])))
    el.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(el) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: plot.py results.jsonl out.svg")
    with open(sys.argv[1]) as f:
        write_svg(sys.argv[2], [json.loads(line) for line in f if line.strip()])
