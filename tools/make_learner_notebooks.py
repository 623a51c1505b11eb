"""Generate the learner notebooks (notebooks/) from the solved ones (solutions/).

In a solution, an exercise is the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
the first line inside may be ``# HINT: ...``. In the learner copy the block becomes
``raise NotImplementedError("<hint>")`` at the same indentation. Outputs, execution counts and
widget state are stripped from both copies, and the "Open in Colab" badge points at each copy.

    python tools/make_learner_notebooks.py           # write notebooks/
    python tools/make_learner_notebooks.py --check   # exit 1 if notebooks/ is stale or solutions carry outputs
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
REPO = "redo-course/redo-course"
BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/{repo}/blob/main/{path})"
)
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def strip(nb):
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def set_badge(nb, rel_path: str):
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "Open In Colab" in cell.source:
            cell.source = BADGE_RE.sub(BADGE.format(repo=REPO, path=rel_path), cell.source)
    return nb


def exercise_source(src: str) -> str:
    out, lines, i = [], src.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "### BEGIN SOLUTION":
            indent = line[: len(line) - len(line.lstrip())]
            j = i + 1
            hint = "your code here"
            if j < len(lines) and lines[j].strip().startswith("# HINT:"):
                hint = lines[j].strip()[len("# HINT:") :].strip()
            while j < len(lines) and lines[j].strip() != "### END SOLUTION":
                j += 1
            if j == len(lines):
                raise ValueError("### BEGIN SOLUTION without ### END SOLUTION")
            out.append(f"{indent}raise NotImplementedError({json.dumps('exercise: ' + hint)})")
            i = j + 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def learner_copy(nb, name: str):
    nb = set_badge(strip(nb), f"notebooks/{name}")
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            cell.source = exercise_source(cell.source)
    return nb


def dumps(nb) -> str:
    return nbformat.writes(nb) + ("" if nbformat.writes(nb).endswith("\n") else "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    stale = []
    (ROOT / "notebooks").mkdir(exist_ok=True)
    for sol in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(sol, as_version=4)
        clean = dumps(set_badge(strip(nb), f"solutions/{sol.name}"))
        learner = dumps(learner_copy(nb, sol.name))
        target = ROOT / "notebooks" / sol.name
        for path, text in ((sol, clean), (target, learner)):
            current = path.read_text() if path.exists() else None
            if current != text:
                stale.append(path.relative_to(ROOT))
                if not a.check:
                    path.write_text(text)
    extra = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")} - {
        p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")
    }
    if a.check:
        if stale or extra:
            print(
                "stale (run python tools/make_learner_notebooks.py): "
                + ", ".join(map(str, stale + sorted(extra)))
            )
            return 1
        print("learner notebooks are current")
    else:
        print(f"wrote {len(stale)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
