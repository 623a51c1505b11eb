"""Where the method is: the paper's files are a real share of ``redo_lite``, the loop knows nothing
of what goes beyond the paper, the grader and the extensions live outside the package, and no
module of ``redo_lite`` imports, through any chain, a module that imports it back."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "redo_lite"
METHOD = ("process", "losses", "step", "nets", "metrics", "evaluation")


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def modules() -> dict[str, Path]:
    return {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for p in PKG.rglob("*.py")
    }


def imported(name: str, path: Path) -> set[str]:
    """Every module named by an import statement anywhere in the file (function bodies too),
    relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            mod = node.module or ""
            full = f"{base}.{mod}".strip(".") if node.level else mod
            out.add(full)
            out.update(f"{full}.{a.name}" for a in node.names)  # `from . import checkpoint`
    return out


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {n: {m for m in imported(n, p) if m in mods and m != n} for n, p in mods.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_method_is_at_least_15_percent_of_the_package():
    total = sum(lines(p) for p in PKG.rglob("*.py"))
    method = sum(lines(PKG / f"{m}.py") for m in METHOD)
    assert method / total >= 0.15, f"method {method} of {total} lines ({method / total:.1%})"


def test_the_grader_and_the_extensions_live_outside_the_package():
    assert not (PKG / "course").exists() and not (PKG / "beyond").exists()
    for name, path in modules().items():
        outside = {m for m in imported(name, path) if m.split(".")[0] == "course"}
        assert not outside, f"{path.relative_to(ROOT)} imports the grader: {sorted(outside)}"


def test_the_loop_and_the_method_know_nothing_beyond_the_paper():
    text = (PKG / "train.py").read_text().lower()
    for word in ("self_train", "self-train", "selftrain", "area_floor", "area floor"):
        assert word not in text, f"redo_lite/train.py names {word!r}"
    for m in (*METHOD, "train"):
        beyond = {x for x in imported(f"redo_lite.{m}", PKG / f"{m}.py") if x.startswith("beyond")}
        assert not beyond, f"redo_lite/{m}.py imports {sorted(beyond)}"


def test_no_import_circle_inside_the_package():
    assert cycles(graph()) == []


def test_the_circle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
