#!/usr/bin/env python3
"""Replace (or append) one marked section of bench/RESULTS.md.

usage: section.py NAME < markdown   — the text between
<!-- NAME --> and <!-- /NAME --> is replaced by stdin; other sections,
written by other scripts, are kept."""
import os, re, sys

name = sys.argv[1]
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
body = sys.stdin.read().rstrip("\n")
block = f"<!-- {name} -->\n{body}\n<!-- /{name} -->"
text = open(path).read() if os.path.exists(path) else "# govde benchmark results\n"
pat = re.compile(rf"<!-- {re.escape(name)} -->.*?<!-- /{re.escape(name)} -->", re.S)
text = pat.sub(lambda _: block, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(text)
