"""Redraw every explanatory diagram of the course into notebooks/figures/ (or --out).

    python tools/draw_diagrams.py            # all of them
    python tools/draw_diagrams.py --check    # exit 1 if a committed diagram is not what it draws
    python tools/draw_diagrams.py --check --only nb03_redraw_pipeline.svg   # some of them

Each ``tools/diagrams/nbXX_*.py`` module has ``FIGURES = {"name.svg": draw}``; ``draw(path)`` writes
one file.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def figures() -> dict:
    out = {}
    for module in sorted((ROOT / "tools" / "diagrams").glob("nb[0-9][0-9]_*.py")):
        mod = importlib.import_module(f"tools.diagrams.{module.stem}")
        for name, draw in mod.FIGURES.items():
            if name in out:
                raise SystemExit(
                    f"error: {module}: figure {name!r} is also drawn by another module"
                )
            out[name] = draw
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "notebooks" / "figures")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="these diagrams (file names) only")
    a = ap.parse_args(argv)
    todo = figures()
    if a.only:
        unknown = sorted(set(a.only) - set(todo))
        if unknown:
            print(f"error: no diagram named {', '.join(unknown)} (tools/diagrams/nb*.py)")
            return 1
        todo = {name: todo[name] for name in a.only}
    if not a.check:
        for name, draw in todo.items():
            draw(a.out / name)
        print(f"wrote {len(todo)} diagrams to {a.out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        stale = []
        for name, draw in todo.items():
            draw(Path(tmp) / name)
            committed = a.out / name
            if not committed.exists() or committed.read_bytes() != (Path(tmp) / name).read_bytes():
                stale.append(name)
    if stale:
        print("stale diagrams (run python tools/draw_diagrams.py): " + ", ".join(stale))
        return 1
    print(f"{len(todo)} diagrams are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
