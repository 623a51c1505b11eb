"""Write every measured figure on the pages from its one source, ``benchmarks/results/*.json``.

A page shows a figure inside a marked span; the span names the results file, the figure's path in
it and, optionally, a format:

    digit IoU <!-- fig shipped:models.c2mnist-cpu.test.iou -->0.902<!-- /fig -->
    <!-- fig c2mnist_cpu:min:seeds.*.within_30_min.iou -->0.937<!-- /fig --> to ...
    <!-- fig shipped:models.c2mnist-cpu.test.acc|.1% -->99.3%<!-- /fig -->

The path is dotted keys and list indices into ``benchmarks/results/NAME.json``; ``*`` takes every
item of a list (or value of a table), and a ``min:``, ``max:`` or ``count>=X:`` prefix reduces
those values to one.
The format is a Python format spec (default: ``.3f`` for a fraction, the value as written
otherwise). The text between the marks is the generator's: edit the JSON, never the page. A span
right after a backtick is an example shown as code, and is left alone.

    python3 tools/figures.py            # rewrite the spans of every page
    python3 tools/figures.py --check    # write nothing; exit 1 naming each page and figure
                                        # that differs from its source or does not exist

Pages: README.md, docs/**/*.md, checkpoints/*/README.md, benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = "benchmarks/results"
SPAN = re.compile(r"<!-- fig (?P<ref>[^\s|]+)(?:\|(?P<fmt>\S*))? -->(?P<text>.*?)<!-- /fig -->")
REDUCE = re.compile(r"^(min|max|count>=[\d.]+):")


class FigureError(ValueError):
    """A span that names a results file or a figure that does not exist."""


def pages(root: Path) -> list[Path]:
    found = [root / "README.md", root / "benchmarks" / "README.md"]
    found += sorted((root / "docs").rglob("*.md"))
    found += sorted((root / "checkpoints").glob("*/README.md"))
    return [p for p in found if p.exists()]


def lookup(data, path: str, where: str):
    """The value at a dotted ``path`` (``*`` over a list gives a list of values). A key that holds
    dots itself (``test_iou_0.8_within_10_min``) is matched whole, the longest key first."""
    parts = path.split(".")

    def walk(v, i):
        if i == len(parts):
            return [v], False
        key = parts[i]
        if key == "*":
            if not isinstance(v, (list, dict)):
                raise FigureError(f"{where}: '*' in {path!r} is not over a list or table")
            out = []
            for item in v.values() if isinstance(v, dict) else v:
                out += walk(item, i + 1)[0]
            return out, True
        if isinstance(v, list) and key.lstrip("-").isdigit():
            if not -len(v) <= int(key) < len(v):
                raise FigureError(f"{where}: no item {key} in {path!r}")
            return walk(v[int(key)], i + 1)
        if isinstance(v, dict):
            for j in range(len(parts), i, -1):
                name = ".".join(parts[i:j])
                if name in v:
                    return walk(v[name], j)
        raise FigureError(f"{where}: no figure {path!r} (no key {key!r})")

    values, many = walk(data, 0)
    return values if many else values[0]


def value(ref: str, results: Path, cache: dict, where: str):
    name, sep, path = ref.partition(":")
    if not sep:
        raise FigureError(f"{where}: span {ref!r} is not NAME:PATH")
    if name not in cache:
        file = results / f"{name}.json"
        if not file.exists():
            raise FigureError(f"{where}: no results file {RESULTS}/{name}.json")
        try:
            cache[name] = json.loads(file.read_text())
        except json.JSONDecodeError as e:
            raise FigureError(f"{RESULTS}/{name}.json: not valid JSON ({e})") from None
    m = REDUCE.match(path)
    got = lookup(cache[name], path[m.end() :] if m else path, f"{where} ({name}.json)")
    if m:
        if not isinstance(got, list):
            raise FigureError(f"{where}: {m.group(1)} of {path!r} needs a '*'")
        op = m.group(1)
        if op == "min":
            return min(got)
        if op == "max":
            return max(got)
        return sum(v >= float(op.split(">=")[1]) for v in got)
    return got


def render(v, fmt: str | None) -> str:
    if fmt:
        return format(v, fmt)
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def shown_as_code(text: str, m: re.Match) -> bool:
    """A span right after a backtick is an example written as code."""
    return m.start() > 0 and text[m.start() - 1] == "`"


def fill(text: str, results: Path, where: str, cache: dict) -> tuple[str, list[str]]:
    """The page with every span rewritten, and one line per span whose text changes."""
    changes = []

    def sub(m):
        if shown_as_code(text, m):
            return m.group(0)
        line = text.count("\n", 0, m.start()) + 1
        new = render(value(m.group("ref"), results, cache, f"{where}:{line}"), m.group("fmt"))
        if new != m.group("text"):
            shown = m.group("text")
            changes.append(f"{where}:{line}: {m.group('ref')} is {new}, the page shows {shown!r}")
        fmt = f"|{m.group('fmt')}" if m.group("fmt") else ""
        return f"<!-- fig {m.group('ref')}{fmt} -->{new}<!-- /fig -->"

    return SPAN.sub(sub, text), changes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 on any difference")
    ap.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    a = ap.parse_args(argv)
    root = a.root.resolve()
    cache, changes, spans, wrote = {}, [], 0, 0
    try:
        for page in pages(root):
            rel = page.relative_to(root).as_posix()
            text = page.read_text()
            new, diff = fill(text, root / RESULTS, rel, cache)
            spans += sum(not shown_as_code(text, m) for m in SPAN.finditer(text))
            changes += diff
            if new != text and not a.check:
                page.write_text(new)
                wrote += 1
    except FigureError as e:
        print(f"error: {e}")
        return 1
    if a.check:
        if changes:
            print("\n".join(changes))
            print("pages differ from benchmarks/results/ (run python3 tools/figures.py)")
            return 1
        print(f"{spans} figures on the pages match benchmarks/results/")
        return 0
    print(f"{spans} figures; rewrote {wrote} page(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
