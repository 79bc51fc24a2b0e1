#!/usr/bin/env python3
"""Issue 9's goals in one table at the top of bench/RESULTS.md.

Every benchmark script that measures a goal figure saves its rows with
save() into bench/goals/NAME.json (the figures as its own section shows
them, with the date and the machine of that run); write() then rebuilds the
`issue9-goals` section from every saved file. Nothing is typed in: a row
exists only once a script has measured it.

usage: goals.py            rebuild the section from bench/goals/*.json
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "goals")
RESULTS = os.path.join(HERE, "RESULTS.md")
SECTION = "issue9-goals"
ORDER = ["compare", "tap", "fabric"]


def machine():
    """This machine as the table names it: CPU model, CPUs, kernel."""
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return "%s, %d CPUs, kernel %s" % (cpu, os.cpu_count(), os.uname().release)


def save(name, source, date, machine, rows, quick=False):
    """Record a script's goal rows (dicts: figure, ours, ref, ref_name,
    ratio, goal, met) and rebuild the summary section."""
    os.makedirs(DIR, exist_ok=True)
    with open(os.path.join(DIR, name + ".json"), "w") as f:
        json.dump({"source": source, "date": date, "machine": machine, "quick": quick, "rows": rows}, f, indent=1)
        f.write("\n")
    write()


def write():
    files = sorted(glob.glob(os.path.join(DIR, "*.json")),
                   key=lambda p: (ORDER.index(os.path.basename(p)[:-5]) if os.path.basename(p)[:-5] in ORDER else 99, p))
    md = ["## Issue 9 goals: every figure, ours against the reference, in one table", "",
          "Collected from the sections below (each row comes from the last run of the script named in it, "
          "which also wrote that section with every run); rebuilt by `bench/goals.py` whenever one of them "
          "runs. *ratio* = ours / reference, both measured in the same run, alternated.", "",
          "| Goal figure | ours | reference | ratio | goal | met | measured by, date, machine |",
          "|---|--:|--:|--:|--:|--:|---|"]
    for p in files:
        d = json.load(open(p))
        src = "`%s`, %s, %s%s" % (d["source"], d["date"], d["machine"], " (QUICK: 1 round)" if d.get("quick") else "")
        for r in d["rows"]:
            ref = r.get("ref", "–")
            if r.get("ref_name") and ref not in ("–", "", None):
                ref = "%s (%s)" % (ref, r["ref_name"])
            md.append("| %s | %s | %s | %s | %s | %s | %s |" % (r["figure"], r["ours"], ref or "–", r.get("ratio", "–"),
                                                           r["goal"], r["met"], src))
    body = "\n".join(md)
    block = "<!-- %s -->\n%s\n<!-- /%s -->" % (SECTION, body, SECTION)
    text = open(RESULTS).read() if os.path.exists(RESULTS) else "# govde benchmark results\n"
    pat = re.compile(r"<!-- %s -->.*?<!-- /%s -->" % (SECTION, SECTION), re.S)
    if pat.search(text):
        text = pat.sub(lambda _: block, text)
    else:
        # first time: right after the title
        head, _, rest = text.partition("\n")
        text = head + "\n\n" + block + "\n" + rest
    with open(RESULTS, "w") as f:
        f.write(text)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(__doc__)
    write()
