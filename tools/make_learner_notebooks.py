"""Generate the learner notebooks (notebooks/) from the solved ones (solutions/).

In a solution, an exercise is the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
the first line inside may be ``# HINT: ...``. In the learner copy the block becomes
``raise NotImplementedError("<hint>")`` at the same indentation. Outputs, execution counts and
widget state are stripped from both copies, the "Open in Colab" badge points at each copy, and the
Colab install cell is written from the repository address in pyproject.toml ``[project.urls]``.

    python tools/make_learner_notebooks.py           # write notebooks/
    python tools/make_learner_notebooks.py --check   # exit 1 if a copy is stale or carries outputs
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


def project_urls(pyproject: Path = ROOT / "pyproject.toml") -> dict:
    """``[project.urls]`` of pyproject.toml: the one place the repository's address is written."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: tomllib is new in 3.11
        import re as _re

        text = pyproject.read_text().split("[project.urls]", 1)[1].split("\n[", 1)[0]
        return dict(_re.findall(r'^"?([^"=\n]+?)"?\s*=\s*"([^"]+)"', text, _re.M))
    with open(pyproject, "rb") as f:
        return tomllib.load(f)["project"]["urls"]


REPO_URL = project_urls()["Repository"]  # the repository on GitHub
REPO = REPO_URL.removeprefix("https://github.com/")
BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/{repo}/blob/main/{path})"
)
BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")
INSTALL_MARK = "# Colab only:"
INSTALL_CELL = """\
# Colab only: fetch the course and install it beside Colab's own torch (does nothing elsewhere)
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess
    from importlib.metadata import version

    REPO_URL = "{url}"
    if not os.path.exists("/content/{name}"):
        subprocess.run(
            ["git", "clone", "-q", "--depth", "1", REPO_URL, "/content/{name}"], check=True
        )
    # pin the torch Colab ships, so that pip never downloads another one
    with open("/tmp/keep-torch.txt", "w") as f:
        f.write("".join(f"{{p}}=={{version(p)}}\\n" for p in ("torch", "torchvision")))
    pip = [sys.executable, "-m", "pip", "install", "-q", "-c", "/tmp/keep-torch.txt"]
    subprocess.run(pip + ["-e", "/content/{name}"], check=True)
    sys.path.insert(0, "/content/{name}")
    os.chdir("/content/{name}")"""


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


def install_cell_source(url: str = REPO_URL) -> str:
    """The Colab cell that clones the course and installs it without touching Colab's torch."""
    return INSTALL_CELL.format(url=url, name=url.rstrip("/").rsplit("/", 1)[-1])


def set_install_cell(nb):
    """Write the install cell: replace the code cell that starts with ``# Colab only:``, or add one
    right after the title cell when the notebook has none."""
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(INSTALL_MARK)]
    if cells:
        cells[0].source = install_cell_source()
    else:
        cell = nbformat.v4.new_code_cell(install_cell_source(), id="colab-install")
        nb.cells.insert(min(1, len(nb.cells)), cell)
    return nb


def set_badge(nb, rel_path: str):
    """Point the "Open in Colab" badge at this copy (adding it under the title when missing) and
    write the install cell."""
    badge = BADGE.format(repo=REPO, path=rel_path)
    found = False
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "Open In Colab" in cell.source:
            cell.source, found = BADGE_RE.sub(badge, cell.source), True
    if not found and nb.cells and nb.cells[0].cell_type == "markdown":
        title, _, rest = nb.cells[0].source.partition("\n")
        nb.cells[0].source = f"{title}\n\n{badge}\n{rest}".rstrip("\n")
    return set_install_cell(nb)


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
