"""docs/faithful.md stays complete: every setting that redo_lite/config.py calls "not in the paper"
has a row in its "Beyond the paper" table, every link to the official code is pinned to one
commit, every row of the departures tables links to the official lines it departs from, and every
name of the package the page cites still exists.

The parser of config.py's comments is tested on sources written for it, so that a comment it
misreads fails here rather than hiding a setting from the check."""

import ast
import importlib
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAITHFUL = ROOT / "docs" / "faithful.md"
CONFIG = ROOT / "redo_lite" / "config.py"
MARK = "not in the paper"
BEYOND = "Beyond the paper"
DEPARTS = "Where `redo_lite` departs from the official code"
REMOVED = "Measured and removed"
OFFICIAL_URL = re.compile(r"https?://(?:www\.)?github\.com/mickaelChen/ReDO\b[^\s)\]>\"']*", re.I)
PINNED = re.compile(
    r"https://github\.com/mickaelChen/ReDO/(?:blob|tree)/(?P<commit>[0-9a-f]{40})"
    r"(?:/[\w./-]+?)?(?:\?plain=1)?(?:#L(?P<a>\d+)(?:-L(?P<b>\d+))?)?"
)


# --- config.py: each field and its comment --------------------------------------------------------
def field_comments(source: str, cls: str = "Config") -> dict[str, str]:
    """Every annotated field of class ``cls`` in ``source``, with its comment as one line of text.

    A field's comment is the comment on its own line(s) and the comment-only lines right below it
    (a comment continued); a field with no comment on its line takes the comment-only lines right
    above it instead (a comment that leads). A blank line or a section rule (``# ---``) ends a
    comment; a ``#`` inside a string is not one."""
    lines = source.splitlines()
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls)
    fields = [
        (n.target.id, n.lineno, n.end_lineno)
        for n in node.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    ]
    comments: dict[int, tuple[str, bool]] = {}  # line -> (text, alone on its line)
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            row, col = tok.start
            comments[row] = (tok.string.lstrip("#").strip(), not lines[row - 1][:col].strip())

    def loose(row: int) -> bool:  # a comment alone on its line, not a section rule
        text, alone = comments.get(row, ("", False))
        return alone and not text.startswith("---")

    taken: set[int] = set()
    parts: dict[str, list[str]] = {}
    for name, first, last in fields:  # the comment on the field's lines, and its continuation
        own = [comments[r][0] for r in range(first, last + 1) if r in comments]
        if own:
            row = last + 1
            while loose(row):
                own.append(comments[row][0])
                taken.add(row)
                row += 1
        parts[name] = own
    for name, first, _ in fields:  # a field without one: the comment above it
        if not parts[name]:
            row, above = first - 1, []
            while loose(row) and row not in taken:
                above.insert(0, comments[row][0])
                row -= 1
            parts[name] = above
    return {name: re.sub(r"\s+", " ", " ".join(p)).strip() for name, p in parts.items()}


def not_in_the_paper(source: str) -> list[str]:
    """The fields whose comment says they are not in the paper."""
    return [name for name, text in field_comments(source).items() if MARK in text.lower()]


# --- faithful.md: sections, tables, names ---------------------------------------------------------
def section(text: str, title: str) -> str:
    """The body of the ``## title`` section (its subsections included), up to the next ``## ``."""
    m = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"docs/faithful.md: no section '## {title}'"
    return m.group(1)


def table_rows(text: str) -> list[str]:
    """The body rows of every Markdown table in ``text``: the rows after a table's rule row."""
    rows, in_body = [], False
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            in_body = False
        elif set(line) <= set("|-: "):
            in_body = True
        elif in_body:
            rows.append(line)
    return rows


def code_names(text: str) -> set[str]:
    """Every identifier written inside backticks in ``text``."""
    return {
        w for span in re.findall(r"`([^`\n]+)`", text) for w in re.findall(r"[A-Za-z_]\w*", span)
    }


def missing_from_beyond(source: str, page: str) -> list[str]:
    """Settings of ``source`` marked "not in the paper" that the page's beyond-the-paper table
    does not name (a setting named on the page's "Measured and removed" line is on its way out and
    exempt)."""
    named = code_names("\n".join(table_rows(section(page, BEYOND))))
    removed = set()
    for line in page.splitlines():
        if line.startswith(REMOVED):
            removed |= code_names(line)
    return [f for f in not_in_the_paper(source) if f not in named and f not in removed]


def unpinned(page: str) -> list[str]:
    """What is wrong with the page's links to the official code: a link not pinned to a commit, a
    line range that runs backwards, or links to more than one commit."""
    problems, commits = [], set()
    for url in OFFICIAL_URL.findall(page):
        m = PINNED.fullmatch(url)
        if not m:
            problems.append(f"{url}: not pinned to a commit (blob/<40 hex digits>/...)")
            continue
        commits.add(m["commit"])
        if m["b"] and int(m["b"]) < int(m["a"]):
            problems.append(f"{url}: line range runs backwards")
    if len(commits) > 1:
        problems.append(f"links to {len(commits)} commits ({', '.join(sorted(commits))}), not one")
    return problems


# --- the parser and the checks, on sources written for them ------------------------------------
SYNTHETIC = """
from dataclasses import dataclass


@dataclass
class Config:
    # --- a section rule that says not in the paper, and belongs to no field -------------
    official: int = 0  # in the official code
    split: int = 1  # a knob that is not in the
    # paper, its comment continued below it
    quoted: str = "# not in the paper"  # a string is no comment
    plain: int = 2
    # a comment that leads: not in the
    # paper, over two lines
    led: bool = False
    after: float = 0.5  # official too

    # a blank line ends a comment: not in the paper
    # --- another rule ---
    last: int = 3

    def method(self):  # not in the paper, but no field
        return 1
"""


def test_the_parser_reads_continued_and_leading_comments_and_nothing_else():
    got = field_comments(SYNTHETIC)
    assert list(got) == ["official", "split", "quoted", "plain", "led", "after", "last"]
    assert got["split"] == "a knob that is not in the paper, its comment continued below it"
    assert got["led"] == "a comment that leads: not in the paper, over two lines"
    assert got["quoted"] == "a string is no comment"
    assert got["plain"] == ""  # the comment below it leads the next field
    assert got["last"] == ""  # a rule ends the block above it
    assert not_in_the_paper(SYNTHETIC) == ["split", "led"]


def test_a_setting_missing_from_the_beyond_table_is_caught():
    page = (
        "# t\n\n## Beyond the paper\n\n| what | where |\n|---|---|\n| a knob | `split` |\n\n"
        "`led` is named here, outside the table.\n\n## Next\n\n| x |\n|---|\n| `led` |\n"
    )
    assert missing_from_beyond(SYNTHETIC, page) == ["led"]
    page = page.replace("`split` |", "`split`, `led = True` |")
    assert missing_from_beyond(SYNTHETIC, page) == []
    # a setting named on the "Measured and removed" line is on its way out
    page = page.replace(", `led = True`", "") + "\nMeasured and removed: `led`, see the log.\n"
    assert missing_from_beyond(SYNTHETIC, page) == []


def test_an_unpinned_or_second_commit_link_is_caught():
    sha, other = (
        "d6542528ca97c5c533694c4095ba003cb7a95d4c",
        "f28c9708d3db56d1366e98296cc1bef627713919",
    )
    good = f"[a](https://github.com/mickaelChen/ReDO/blob/{sha}/train.py#L313-L320)"
    readme = f"[r](https://github.com/mickaelChen/ReDO/blob/{sha}/README.md?plain=1#L104)"
    assert unpinned(good + readme) == []
    assert unpinned("[m](https://github.com/mickaelChen/ReDO/blob/master/train.py#L1)")
    assert unpinned("[home](https://github.com/mickaelChen/ReDO)")
    assert unpinned(f"[b](https://github.com/mickaelChen/ReDO/blob/{sha}/train.py#L9-L3)")
    two = good + f" [c](https://github.com/mickaelChen/ReDO/blob/{other}/models.py#L3)"
    assert unpinned(two) == [f"links to 2 commits ({sha}, {other}), not one"]


# --- the real files ----------------------------------------------------------------------------
def test_every_setting_not_in_the_paper_has_a_row_beyond_the_paper():
    source = CONFIG.read_text(encoding="utf-8")
    marked = not_in_the_paper(source)
    # the comments say so for these (a parser that found nothing would pass the check below)
    assert {"g_hard_input", "amp", "f_ema", "restart_on"} <= set(marked), marked
    assert {"self_train_steps", "self_train_images", "self_train_passes"} <= set(marked), marked
    missing = missing_from_beyond(source, FAITHFUL.read_text(encoding="utf-8"))
    assert not missing, (
        f"redo_lite/config.py says {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
        "not in the paper, but docs/faithful.md's 'Beyond the paper' table does not name "
        f"{'it' if len(missing) == 1 else 'them'} in backticks: add a row (what, where, why, "
        "where it is measured)"
    )


def test_every_link_to_the_official_code_is_pinned_to_one_commit():
    page = FAITHFUL.read_text(encoding="utf-8")
    assert OFFICIAL_URL.findall(page), "docs/faithful.md links to the official code nowhere"
    assert unpinned(page) == []


def test_every_departure_links_to_the_official_lines_it_departs_from():
    page = FAITHFUL.read_text(encoding="utf-8")
    rows = table_rows(section(page, DEPARTS))
    assert rows, f"docs/faithful.md: no table under '## {DEPARTS}'"
    for row in rows:
        links = [m for m in map(PINNED.fullmatch, OFFICIAL_URL.findall(row)) if m and m["a"]]
        assert links, f"docs/faithful.md: a departure without a link to official lines: {row[:80]}"
    numbers = [int(r.split("|")[1]) for r in rows]
    assert numbers == list(range(1, len(rows) + 1)), "departures are numbered 1, 2, ... in order"


def test_the_beyond_table_says_where_why_and_where_measured_in_every_row():
    rows = table_rows(section(FAITHFUL.read_text(encoding="utf-8"), BEYOND))
    assert rows
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 4 and all(cells), f"docs/faithful.md: an incomplete row: {row[:80]}"
        assert "`" in cells[1], f"docs/faithful.md: no place in the code named: {row[:80]}"


def resolves(name: str) -> bool:
    """Whether a dotted name the page cites exists: ``Trainer.keep_best``, ``nets.conv``,
    ``redo_lite.config.cpu_defaults``, ``data_prep.lfw.face_mask``..."""
    parts = name.split(".")
    if parts[0] == "Trainer":
        parts = ["redo_lite", "train", *parts]
    elif parts[0] not in ("redo_lite", "data_prep"):
        parts = ["redo_lite", *parts]
    for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_every_name_the_page_cites_in_the_package_exists():
    page = FAITHFUL.read_text(encoding="utf-8")
    modules = {p.stem for p in (ROOT / "redo_lite").glob("*.py")} | {"Trainer"}
    dotted = set()
    for span in re.findall(r"`([^`\n]+)`", page):
        for name in re.findall(r"\b[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+", span):
            if name.split(".")[0] in modules | {"redo_lite", "data_prep"} and not re.search(
                r"\.(py|pt|md|json|sh)$", name
            ):
                dotted.add(name)
    assert len(dotted) > 10, sorted(dotted)
    gone = sorted(n for n in dotted if not resolves(n))
    assert not gone, f"docs/faithful.md cites names the code no longer has: {', '.join(gone)}"


def test_every_relative_link_of_the_page_reaches_a_file_and_heading():
    page = FAITHFUL.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", page):
        if re.match(r"[a-z]+://", target):
            continue
        path, _, anchor = target.partition("#")
        file = (FAITHFUL.parent / path).resolve() if path else FAITHFUL
        assert file.exists(), f"docs/faithful.md links to {target}: no such file"
        if anchor:
            slugs = {
                re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                for h in re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.M)
            }
            assert anchor in slugs, f"docs/faithful.md links to {target}: no such heading"


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/mickaelChen/ReDO/blob/d6542528ca97c5c533694c4095ba003cb7a95d4c/train.py#L1",
        "https://github.com/mickaelChen/ReDO/tree/d6542528ca97c5c533694c4095ba003cb7a95d4c",
    ],
)
def test_a_pinned_link_is_read_whole(url):
    assert OFFICIAL_URL.findall(f"[x]({url})") == [url]
    assert PINNED.fullmatch(url)
