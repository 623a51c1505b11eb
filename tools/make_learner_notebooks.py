"""Generate the learner notebooks (notebooks/) from the solved ones (solutions/).

In a solution, an exercise is the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
its first line may be ``# HINT: ...`` (the idea or the tool, never the expression). The learner
copy keeps the block's scaffold: ``raise NotImplementedError("exercise: <hint> — fill in the
... blanks below, then delete this line")``, then every full-line comment at the block's own
indentation (the step comments) and one blank per top-level statement: ``a = ...`` for an
assignment, ``return ...`` for a return, ``...`` for anything else (a call, a loop and its body).
Outputs, execution counts and widget state are stripped from both copies, and the "Open in Colab"
badge points at each copy; the Colab install cell, and the badges of README.md's course table, are
written from the repository address in pyproject.toml ``[project.urls]``. How to write an
exercise: docs/authoring.md.

    python tools/make_learner_notebooks.py           # write notebooks/
    python tools/make_learner_notebooks.py --check   # write nothing; exit 1 when notebooks/ or
        # the README's badges are stale, a solution carries outputs, or a learner copy gives a
        # solution line away (or a hint nearly equal to one) or does not compile
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import io
import json
import re
import sys
import tokenize
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
BADGE_PATH = re.compile(r"/blob/[^/)]+/((?:notebooks|solutions)/[^)#?]+\.ipynb)")


def readme_badges(text: str) -> str:
    """The README with every "Open in Colab" badge written from ``REPO`` for the notebook it
    names, so that a fork changes one line of pyproject.toml."""

    def fix(m):
        path = BADGE_PATH.search(m.group(0))
        return BADGE.format(repo=REPO, path=path.group(1)) if path else m.group(0)

    return BADGE_RE.sub(fix, text)


INSTALL_MARK = "# Colab only:"
INSTALL_CELL = """\
# Colab only: fetch the course and install it beside Colab's own torch (does nothing elsewhere)
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    REPO_URL = "{url}"
    if not os.path.exists("/content/{name}"):
        subprocess.run(
            ["git", "clone", "-q", "--depth", "1", REPO_URL, "/content/{name}"], check=True
        )
    # Colab's own torch stays (CI tests the course on constraints-ci.txt's; Colab's may be older):
    # the course's other needs, then the course itself without its torch pins
    import tomllib

    with open("/content/{name}/pyproject.toml", "rb") as f:
        needs = tomllib.load(f)["project"]["dependencies"]
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run(pip + [d for d in needs if not d.startswith("torch")], check=True)
    subprocess.run(pip + ["--no-deps", "-e", "/content/{name}"], check=True)
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


BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "# HINT:"
MIN_LEAK = 16  # a solution line this long (stripped) must not appear in a learner copy
HINT_RATIO = 0.75  # nor a hint this similar to one (difflib)


class ExerciseError(ValueError):
    """A solution notebook whose exercise block cannot be turned into a learner block."""


def _segment(code: str, node: ast.AST) -> str:
    text = ast.get_source_segment(code, node)
    return text if text is not None and "\n" not in text else ast.unparse(node)


_AUG = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^",
    ast.LShift: "<<", ast.RShift: ">>",
}  # fmt: skip


def blank(code: str, stmt: ast.stmt) -> str:
    """One top-level statement of a solution as the learner sees it: an assignment keeps its
    target(s), a return keeps the keyword, anything else becomes `...`."""
    if isinstance(stmt, ast.Assign):
        return " = ".join(_segment(code, t) for t in stmt.targets) + " = ..."
    if isinstance(stmt, ast.AugAssign):
        return f"{_segment(code, stmt.target)} {_AUG[type(stmt.op)]}= ..."
    if isinstance(stmt, ast.AnnAssign):
        return f"{_segment(code, stmt.target)}: {_segment(code, stmt.annotation)} = ..."
    if isinstance(stmt, ast.Return):
        return "return ..." if stmt.value is not None else "return"
    return "..."


def _base_comments(code: str) -> dict[int, str]:
    """Full-line comments at column 0 of the dedented block: {line number: text}."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and tok.start[1] == 0:
            out[tok.start[0]] = tok.string.rstrip()
    return out


def scaffold(block: list[str], indent: str, hint: str) -> list[str]:
    """The learner's version of a solution block (the lines between the markers, the hint line
    removed): a raise that names the hint, then the step comments and one blank per top-level
    statement, at the block's indentation."""
    lines = []
    for i, line in enumerate(block):
        if line.strip() and not line.startswith(indent):
            raise ExerciseError(f"line {i + 1} of the block is indented less than {BEGIN}")
        lines.append(line[len(indent) :] if line.strip() else "")
    code = "\n".join(lines) + "\n"
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise ExerciseError(f"line {e.lineno} of the block: {e.msg}") from None
    spans = [(s.lineno, s.end_lineno) for s in tree.body]
    items = [
        (n, text)
        for n, text in _base_comments(code).items()
        if not any(a <= n <= b for a, b in spans)
    ]
    items += [(s.lineno, blank(code, s)) for s in tree.body]
    lead = f"exercise: {hint} — " if hint else "exercise: "
    message = lead + "fill in the ... blanks below, then delete this line"
    out = [f"raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"]
    for _, text in sorted(items):
        if not (text == "..." and out[-1] == "..."):
            out.append(text)
    return [indent + line for line in out]


def solution_blocks(src: str):
    """(first line, last line, indentation, hint, block lines) of each exercise in a cell."""
    lines, i, found = src.split("\n"), 0, []
    while i < len(lines):
        if lines[i].strip() == BEGIN:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            j = i + 1
            while j < len(lines) and lines[j].strip() != END:
                if lines[j].strip() == BEGIN:
                    raise ExerciseError(f"line {j + 1}: {BEGIN} inside another exercise")
                j += 1
            if j == len(lines):
                raise ExerciseError(f"line {i + 1}: {BEGIN} without {END}")
            block = lines[i + 1 : j]
            hint = ""
            if block and block[0].strip().startswith(HINT):
                hint, block = block[0].strip()[len(HINT) :].strip(), block[1:]
            found.append((i, j, indent, hint, block))
            i = j
        elif lines[i].strip() == END:
            raise ExerciseError(f"line {i + 1}: {END} without {BEGIN}")
        i += 1
    return found


def exercise_source(src: str) -> str:
    lines = src.split("\n")
    for first, last, indent, hint, block in reversed(solution_blocks(src)):
        lines[first : last + 1] = scaffold(block, indent, hint)
    return "\n".join(lines)


def compile_cell(src: str, where: str) -> None:
    """Raise ExerciseError when a generated cell is not valid Python (IPython magics allowed)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        src = TransformerManager().transform_cell(src)
    except ImportError:
        pass
    try:
        compile(src, where, "exec")
    except SyntaxError as e:
        raise ExerciseError(
            f"{where} line {e.lineno}: the learner copy does not compile ({e.msg})"
        ) from None


def learner_copy(nb, name: str):
    nb = set_badge(strip(nb), f"notebooks/{name}")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and BEGIN in cell.source:
            try:
                cell.source = exercise_source(cell.source)
            except ExerciseError as e:
                raise ExerciseError(f"solutions/{name} cell {i}: {e}") from None
            compile_cell(cell.source, f"notebooks/{name} cell {i}")
    return nb


def _solution_lines(block: list[str]) -> list[str]:
    stripped = (line.strip() for line in block)
    return [line for line in stripped if line and not line.startswith("#")]


def leaks(solution, learner, name: str) -> list[str]:
    """Where the learner copy gives a solution away: a solution line of 16+ characters anywhere
    in its text, or a hint nearly equal to a solution line (one message each, cell and line)."""
    found = []

    def where(text: str) -> str:
        quoted = json.dumps(text, ensure_ascii=False)[1:-1]  # as the raise line spells a hint
        for i, cell in enumerate(learner.cells):
            for n, line in enumerate(cell.source.split("\n"), 1):
                if text in line or quoted in line:
                    return f"notebooks/{name} cell {i} line {n}"
        return f"notebooks/{name}"

    text = "\n".join(c.source for c in learner.cells)
    for cell in solution.cells:
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        for _, _, _, hint, block in solution_blocks(cell.source):
            for line in _solution_lines(block):
                if len(line) >= MIN_LEAK and line in text:
                    found.append(f"{where(line)}: gives away the solution line {line!r}")
                if len(line) >= MIN_LEAK and hint:
                    ratio = difflib.SequenceMatcher(None, hint, line).ratio()
                    if ratio >= HINT_RATIO:
                        found.append(
                            f"{where(hint)}: the hint {hint!r} is nearly the solution line "
                            f"{line!r} (similarity {ratio:.2f} >= {HINT_RATIO})"
                        )
    return list(dict.fromkeys(found))


def dumps(nb) -> str:
    return nbformat.writes(nb) + ("" if nbformat.writes(nb).endswith("\n") else "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 on any problem")
    ap.add_argument("--root", type=Path, default=ROOT, help="the folder holding solutions/")
    a = ap.parse_args(argv)
    root = a.root.resolve()
    stale, problems = [], []
    (root / "notebooks").mkdir(exist_ok=True)
    solutions = sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb"))
    for sol in solutions:
        try:
            nb = nbformat.read(sol, as_version=4)
        except Exception as e:
            problems.append(f"solutions/{sol.name}: not a readable notebook ({e})")
            continue
        try:
            learner_nb = learner_copy(nb, sol.name)
        except ExerciseError as e:
            problems.append(str(e))
            continue
        problems += leaks(nb, learner_nb, sol.name)
        clean = dumps(set_badge(strip(nb), f"solutions/{sol.name}"))
        target = root / "notebooks" / sol.name
        for path, text in ((sol, clean), (target, dumps(learner_nb))):
            current = path.read_text() if path.exists() else None
            if current != text:
                stale.append(path.relative_to(root))
                if not a.check:
                    path.write_text(text)
    readme = root / "README.md"
    if readme.exists():
        text = readme.read_text()
        if readme_badges(text) != text:
            stale.append(readme.relative_to(root))
            if not a.check:
                readme.write_text(readme_badges(text))
    extra = {p.name for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb")} - {
        p.name for p in solutions
    }
    for problem in problems:
        print(problem)
    if a.check:
        if stale or extra:
            print(
                "stale (run python tools/make_learner_notebooks.py): "
                + ", ".join(map(str, stale + sorted(extra)))
            )
        if stale or extra or problems:
            return 1
        print("learner notebooks are current")
        return 0
    print(f"wrote {len(stale)} file(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
