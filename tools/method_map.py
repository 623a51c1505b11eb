"""The README's map of where the method is, written from the course's own registry: the lines of
the method's files, and for each notebook the package's functions its exercises rebuild and the
exercise that needs reasoning (``course.EXERCISES``: each exercise's reference, or its
``package`` where the reference is the course's own wrapper).

    python tools/method_map.py           # rewrite the marked spans of README.md
    python tools/method_map.py --check   # exit 1 when README.md differs from what it would write
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

README = ROOT / "README.md"
METHOD = ("process", "losses", "step", "nets")  # the paper's files ("the method is ...")
OURS = ("redo_lite", "beyond", "data_prep")


def method_lines() -> int:
    return sum(len((ROOT / "redo_lite" / f"{m}.py").read_text().splitlines()) for m in METHOD)


def resolve(dotted: str):
    """The object a dotted name names (module, then attributes), or an error naming it."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"{dotted}: names nothing importable")


def where(ex) -> tuple[str, str] | None:
    """(module, function) in the package for one exercise, or None (a reasoning exercise that
    rebuilds no function of the package)."""
    dotted = ex.package
    if not dotted:
        ref = ex.reference
        if not ref.__module__.startswith(OURS):
            return None
        dotted = f"{ref.__module__}.{ref.__qualname__}"
    resolve(dotted)  # a stale name fails here, not in a reader's hands
    module, _, name = dotted.rpartition(".")
    return module, name


def title(notebook: str) -> str:
    cells = json.loads((ROOT / "solutions" / f"{notebook}.ipynb").read_text())["cells"]
    first = "".join(cells[0]["source"]).splitlines()[0]
    return first.lstrip("# ").replace(" · ", " ")


def module_cell(module: str, names: list[str]) -> str:
    if module.startswith(OURS):
        return f"`{module.replace('.', '/')}.py`: " + ", ".join(f"`{n}`" for n in names)
    return ", ".join(f"torch's `{n}`" for n in names) + " (in `redo_lite/nets.py`)"


def table() -> str:
    from course import EXERCISES

    by_nb: dict[str, list] = {}
    for ex in EXERCISES.values():
        by_nb.setdefault(ex.notebook, []).append(ex)
    rows = ["| notebook | the package's code you rebuild | ★ the exercise that needs reasoning |"]
    rows.append("|---|---|---|")
    for nb in sorted(by_nb):
        modules: dict[str, list[str]] = {}
        for ex in by_nb[nb]:
            w = where(ex)
            if w is not None and w[1] not in modules.setdefault(w[0], []):
                modules[w[0]].append(w[1])
        code = "; ".join(module_cell(m, n) for m, n in modules.items() if n) or "none"
        starred = ", ".join(f"`{ex.name}`" for ex in by_nb[nb] if ex.reasoning) or "none"
        rows.append(f"| {title(nb)} | {code} | {starred} |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    text = re.sub(
        r"(<!-- lines:method -->)\d*(<!-- /lines -->)", rf"\g<1>{method_lines()}\g<2>", text
    )
    start, end = "<!-- method-map -->\n", "<!-- /method-map -->"
    i, j = text.index(start) + len(start), text.index(end)
    return text[:i] + table() + text[j:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="fail if README.md is stale")
    a = ap.parse_args(argv)
    old = README.read_text()
    new = render(old)
    if a.check:
        if new != old:
            print("README.md: the method map is stale: run python3 tools/method_map.py")
            return 1
        print("README.md: the method map is current")
        return 0
    README.write_text(new)
    print("README.md: method map written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
