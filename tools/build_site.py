"""Build the course site: every solution notebook executed (its real outputs), the docs pages, and
an API reference page per ``redo_lite`` module, rendered by Sphinx + myst-nb into ``_site/``.

    bash tools/build_site.sh                  # the whole site (executes every notebook)
    bash tools/build_site.sh --check          # ... then open every page in Chromium and check it
    bash tools/build_site.sh --fast --only 02 04 --docs data-format --api nets   # a small build

Steps: (1) stage the sources in ``_build/site/src`` (README as the front page, the reference and
guides ``docs/*.md``, the research log ``docs/log/*.md``, generated API pages); (2) execute each
``solutions/NN_*.ipynb`` with papermill into the staging folder, with a note at its top saying how
its outputs were made (executed copies are reused while the notebook and the package are
unchanged); (3) ``sphinx-build`` with ``site/conf.py``;
(4) with the ``playground`` docs page, its files in ``_site/playground/``: onnxruntime-web (``npm
ci`` in ``site/playground``), the page's script, the models exported by tools/export_onnx.py.
Links from a page to a repository file that is not on the site go to that file on GitHub.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from make_learner_notebooks import (  # noqa: E402
    BADGE,
    BEGIN,
    END,
    HINT,
    INSTALL_MARK,
    REPO,
    REPO_URL,
    exercise_source,
)

# Notebook outputs that only live in a running kernel (ipywidgets) are replaced by this line.
WIDGET_NOTE = "*An interactive widget was here: run the notebook in JupyterLab or Colab to use it.*"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def log(msg: str) -> None:
    print(f"site: {msg}", flush=True)


# --------------------------------------------------------------------------------------------
# Staging: pages and links
# --------------------------------------------------------------------------------------------
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def local_badges(text: str, depth: int) -> str:
    """Colab badges drawn from the site's own copy (site/figures/colab-badge.svg): every page
    loads without another host."""
    return text.replace(BADGE_IMAGE, "../" * depth + "figures/colab-badge.svg")


LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s#]+)(#[^)\s]*)?(\))")


def rewrite_links(text: str, page: Path, src: Path) -> str:
    """In a markdown page staged at ``src/page``, point relative links whose target is not part of
    the site at the repository file on GitHub (``REPO_URL/blob/main/<path>``)."""

    def fix(m):
        target = m.group(2)
        if re.match(r"[a-z]+:", target) or target.startswith("/"):
            return m.group(0)
        staged = (src / page.parent / target).resolve()
        if staged.exists():
            return m.group(0)
        rel = os.path.normpath(page.parent / target).replace(os.sep, "/")
        if rel.startswith(".."):
            return m.group(0)
        kind = "tree" if (ROOT / rel).is_dir() else "blob"
        return f"{m.group(1)}{REPO_URL}/{kind}/main/{rel}{m.group(3) or ''}{m.group(4)}"

    return LINK.sub(fix, text)


GRADER = "course"  # the course's grader, a package of its own beside redo_lite
BEYOND = "beyond"  # what goes beyond the paper, a package of its own beside redo_lite
ABOUT = {
    GRADER: "The course's grader and notebook helpers (not the method).",
    BEYOND: "Beyond the paper: self-training, IEM, the classic baselines, the supervised F.",
}


def api_modules(only: list[str] | None) -> list[str]:
    names = sorted(
        p.stem if p.is_file() else p.name
        for p in (ROOT / "redo_lite").iterdir()
        if (p.suffix == ".py" and not p.stem.startswith("_"))
        or (p.is_dir() and (p / "__init__.py").exists())
    ) + [GRADER, BEYOND]
    return [n for n in names if only is None or n in only]


def automodule(names: list[str]) -> str:
    return "".join(
        "\n```{eval-rst}\n"
        f".. automodule:: {name}\n"
        "   :members:\n   :undoc-members:\n   :show-inheritance:\n"
        "```\n"
        for name in names
    )


def api_page(module: str) -> str:
    """A module's reference page. A package that gathers its members in ``__all__`` is one page;
    one that does not (``beyond``) lists each of its modules'."""
    if module in ABOUT:
        folder = ROOT / module
        names = [module]
        if "__all__" not in (folder / "__init__.py").read_text():
            names += [f"{module}.{p.stem}" for p in sorted(folder.glob("*.py"))
                      if not p.stem.startswith("_")]  # fmt: skip
        return (
            f"# {module}\n\n{ABOUT[module]} Source: "
            f"[`{module}/`]({REPO_URL}/tree/main/{module})\n{automodule(names)}"
        )
    path = f"redo_lite/{module}" + ("" if (ROOT / "redo_lite" / module).is_dir() else ".py")
    return (
        f"# redo_lite.{module}\n\n"
        f"Source: [`{path}`]({REPO_URL}/{'tree' if path.endswith(module) else 'blob'}/main/{path})"
        f"\n{automodule([f'redo_lite.{module}'])}"
    )


def stage_pages(src: Path, docs: list[str] | None, api: list[str] | None) -> dict:
    (src / "docs").mkdir(parents=True)
    (src / "api").mkdir()
    shutil.copytree(ROOT / "site" / "figures", src / "figures")
    # the diagrams the notebooks show (../notebooks/figures/*.svg from solutions/ and notebooks/)
    shutil.copytree(ROOT / "notebooks" / "figures", src / "notebooks" / "figures")
    for path in sorted((ROOT / "docs").iterdir()):
        if path.is_dir():  # figures, and the research log (its pages are staged below)
            shutil.copytree(path, src / "docs" / path.name, ignore=shutil.ignore_patterns("*.md"))
    # the reference and guides (docs/*.md) and the research log (docs/log/*.md); --docs names a
    # page by its path under docs/ without .md (data-format, log/cpu-preset)
    pages = [
        p.relative_to(ROOT / "docs")
        for p in sorted((ROOT / "docs").rglob("*.md"))
        if docs is None or p.relative_to(ROOT / "docs").with_suffix("").as_posix() in docs
    ]
    for path in pages:
        (src / "docs" / path).parent.mkdir(parents=True, exist_ok=True)
        (src / "docs" / path).write_text((ROOT / "docs" / path).read_text())
    modules = api_modules(api)
    for m in modules:
        (src / "api" / f"{m}.md").write_text(api_page(m))
    readme = (ROOT / "README.md").read_text()
    (src / "index.md").write_text(readme + "\n" + (ROOT / "site" / "toc.md").read_text())
    for page in [src / "index.md", *(src / "docs" / p for p in pages)]:
        rel = page.relative_to(src)
        page.write_text(local_badges(rewrite_links(page.read_text(), rel, src), len(rel.parts) - 1))
    return {"docs": [p.with_suffix("").as_posix() for p in pages], "api": modules}


# --------------------------------------------------------------------------------------------
# The playground (docs/playground.md): onnxruntime-web, the page's script, the exported models
# --------------------------------------------------------------------------------------------
PLAYGROUND = ROOT / "site" / "playground"
# onnxruntime-web's WebAssembly-only build: the script, the module it imports, its binary
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def npm_install(folder: Path = PLAYGROUND) -> str:
    """onnxruntime-web at the version site/playground/package-lock.json pins, installed by
    ``npm ci`` unless node_modules already holds that version."""
    lock = json.loads((folder / "package-lock.json").read_text())
    want = lock["packages"]["node_modules/onnxruntime-web"]["version"]
    have = folder / "node_modules" / "onnxruntime-web" / "package.json"
    if have.exists() and json.loads(have.read_text())["version"] == want:
        return f"onnxruntime-web {want} already in {have.parent.relative_to(ROOT)}"
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(
            f"error: {folder.relative_to(ROOT)}/package-lock.json: npm not found; the playground "
            "needs onnxruntime-web from the npm registry (Debian: apt-get install npm)"
        )
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    res = subprocess.run(cmd, cwd=folder, capture_output=True, text=True)
    if res.returncode:
        why = (res.stderr.strip().splitlines() or ["npm ci failed"])[-1]
        raise SystemExit(f"error: {folder.relative_to(ROOT)}: npm ci failed: {why}")
    return f"onnxruntime-web {want} installed by npm ci in {folder.relative_to(ROOT)}"


def build_playground(dest: Path) -> str:
    """The playground's files in ``dest``: onnxruntime-web's runtime, the page's script and style,
    and what tools/export_onnx.py writes (the models in ONNX, checked against PyTorch, and the
    test images)."""
    msg = npm_install()
    dest.mkdir(parents=True, exist_ok=True)
    dist = PLAYGROUND / "node_modules" / "onnxruntime-web" / "dist"
    for name in RUNTIME_FILES:
        shutil.copy(dist / name, dest / name)
    for name in ("playground.js", "playground.css"):
        shutil.copy(PLAYGROUND / name, dest / name)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(ROOT / "tools" / "export_onnx.py"), "--out", str(dest)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode:
        why = (res.stdout + res.stderr).strip().splitlines() or ["export failed"]
        raise SystemExit(f"error: tools/export_onnx.py: {why[-1]}")
    checks = [line for line in res.stdout.splitlines() if "largest |PyTorch - ONNX|" in line]
    return "\n".join([msg, *checks])


# --------------------------------------------------------------------------------------------
# Executing the notebooks
# --------------------------------------------------------------------------------------------
def parameters_env(nb) -> list[str]:
    """The REDO_* environment variables a notebook's ``parameters`` cell reads."""
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    return re.findall(r'env\(\s*"(REDO_\w+)"', cells[0].source) if cells else []


def package_digest() -> str:
    h = hashlib.sha256()
    for folder in ("redo_lite", "data_prep", "checkpoints"):
        for p in sorted((ROOT / folder).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(ROOT)).encode() + p.read_bytes())
    return h.hexdigest()


def build_env(nb, stem: str, runs: Path, fast: bool, train_minutes: float) -> dict:
    """What the notebook is run with: full mode (or fast), the shipped model wherever a notebook
    offers to skip training for it, a short training budget where it trains, and fresh run
    folders (any ``REDO_*RUN`` it reads) so that no earlier run is resumed."""
    reads = parameters_env(nb)
    env = {"REDO_FAST": "1" if fast else "0"}
    if "REDO_USE_SHIPPED" in reads:
        env["REDO_USE_SHIPPED"] = "1"
    if "REDO_TRAIN_MINUTES" in reads and "REDO_USE_SHIPPED" not in reads:
        env["REDO_TRAIN_MINUTES"] = f"{train_minutes:g}"
    for name in reads:
        if name.endswith("RUN"):
            env[name] = str(runs / stem / name.lower())
    return env


def provenance(nb_path: Path, env: dict, seconds: float, device: str) -> str:
    name = nb_path.name
    learner = f"{REPO_URL}/blob/main/notebooks/{name}"
    badge = BADGE.format(repo=REPO, path=f"notebooks/{name}")
    settings = " ".join(f"{k}={v}" for k, v in env.items() if not k.endswith("RUN"))
    lines = [
        "```{admonition} Where the outputs on this page come from",
        ":class: note",
        "",
        f"This is the solved notebook `solutions/{name}`, executed from top to bottom by "
        f"`bash tools/build_site.sh` on {datetime.date.today():%Y-%m-%d} with `{settings}` "
        f"({'fast' if env['REDO_FAST'] == '1' else 'full'} mode, {seconds / 60:.1f} min); "
        "every figure and number below is that run's output. Each exercise shows the learner's "
        "scaffold, as in the learner copy; the solution that made the outputs is folded under "
        "**show solution** right after it.",
    ]
    if env.get("REDO_USE_SHIPPED") == "1":
        lines.append(
            "`USE_SHIPPED` is on: where the notebook would train or read your model from "
            "notebook 08, it loads the shipped model `checkpoints/c2mnist-cpu` instead, so the "
            "figures show a fully trained model."
        )
    if "REDO_TRAIN_MINUTES" in env:
        lines.append(f"Training cells ran for {env['REDO_TRAIN_MINUTES']} minutes.")
    lines += [
        f"Device: {device}",
        "",
        f"To work through it yourself: the [learner copy]({learner}) (exercises blank), or {badge}",
        "```",
    ]
    return "\n".join(lines)


SOLUTION_CLASS = "solution"  # <details class="solution">: the folded solution of an exercise


def fold_solutions(nb) -> int:
    """Show each exercise as the learner copy does (its scaffold, tools/make_learner_notebooks.py)
    and fold the solution, which made the outputs below it, into a "show solution" block right
    after it. Returns the number of exercises."""
    n, cells = 0, []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        solved = "\n".join(
            line
            for line in cell.source.split("\n")
            if line.strip() not in (BEGIN, END) and not line.strip().startswith(HINT)
        )
        cell.source = exercise_source(cell.source)
        fence = "`" * max(4, 1 + max(map(len, re.findall(r"`+", solved)), default=0))
        cells.append(
            nbformat.v4.new_markdown_cell(
                f'<details class="{SOLUTION_CLASS}"><summary>show solution</summary>\n\n'
                f"{fence}python\n{solved}\n{fence}\n\n</details>",
                id=f"solution-{n}",
            )
        )
        n += 1
    nb.cells = cells
    return n


def tidy_outputs(nb) -> int:
    """Replace widget outputs (they need a live kernel) by a sentence; return how many."""
    n = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_MIME in data and re.match(r"[A-Z]\w*\(", data.get("text/plain", "")):
                out["data"] = {"text/markdown": WIDGET_NOTE}
                n += 1
    return n


def execute(nb_path: Path, dest: Path, cache: Path, env: dict, digest: str, device: str) -> str:
    """Execute one notebook and write its page source to ``dest``. An executed copy of the same
    notebook, settings and package is reused; the page is made from it afresh each build."""
    key = hashlib.sha256(
        (nb_path.read_text() + json.dumps(env, sort_keys=True) + digest + device).encode()
    ).hexdigest()[:16]
    cached = cache / f"{nb_path.stem}-{key}.ipynb"
    if cached.exists():
        msg = f"{nb_path.name}: reused the executed copy {cached.name}"
    else:
        run_notebook(nb_path, cached, env)
        msg = f"{nb_path.name}: executed in {nbformat.read(cached, 4).metadata.site_seconds:.0f} s"
    nb = nbformat.read(cached, 4)
    nb.cells = [c for c in nb.cells if not c.source.startswith(INSTALL_MARK)]  # Colab's only
    widgets = tidy_outputs(nb)
    fold_solutions(nb)
    nb.metadata.pop("widgets", None)
    note = provenance(nb_path, env, nb.metadata.pop("site_seconds"), device)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(note, id="site-note"))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = local_badges(cell.source, 1)
    nbformat.write(nb, dest)
    return msg + (f" ({widgets} widget outputs replaced by a note)" if widgets else "")


def run_notebook(nb_path: Path, cached: Path, env: dict) -> None:
    """papermill, in a kernel that sees ``env``; a failing cell stops the build with one line."""
    for name, value in env.items():
        if name.endswith("RUN"):
            shutil.rmtree(value, ignore_errors=True)
    partial = cached.with_suffix(".partial.ipynb")
    kernel_env = {
        **os.environ,
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    start = time.time()
    run = [sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3"]
    res = subprocess.run(
        [*run, "--cwd", str(nb_path.parent), str(nb_path), str(partial)],
        env=kernel_env,
        capture_output=True,
        text=True,
    )
    if res.returncode:
        errors = [
            f"cell {c.get('execution_count')} raised {o.get('ename')}: {o.get('evalue')}"
            for c in (nbformat.read(partial, 4).cells if partial.exists() else [])
            for o in c.get("outputs", [])
            if o.get("output_type") == "error"
        ]
        why = errors[0] if errors else (res.stderr.strip().splitlines() or ["papermill failed"])[-1]
        raise SystemExit(f"error: {nb_path.relative_to(ROOT)}: {why} (executed copy: {partial})")
    nb = nbformat.read(partial, 4)
    nb.metadata["site_seconds"] = time.time() - start
    nbformat.write(nb, cached)
    partial.unlink()


def page_facts(executed: Path, solution: Path) -> dict:
    """What the page of an executed notebook must show: its figures, equations if any, and each
    exercise of the solution notebook as a scaffold with its solution folded."""
    nb = nbformat.read(executed, 4)
    images = sum(
        "image/png" in o.get("data", {}) or "image/jpeg" in o.get("data", {})
        for c in nb.cells
        for o in c.get("outputs", [])
    )
    math = any(c.cell_type == "markdown" and "$" in c.source for c in nb.cells)
    solved = nbformat.read(solution, 4).cells
    exercises = sum(c.cell_type == "code" and BEGIN in c.source for c in solved)
    return {"images": images, "math": math, "exercises": exercises}


def device_line() -> str:
    out = subprocess.run(
        [sys.executable, "-c", "from course.colab import device_report; print(device_report())"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    return out.stdout.strip()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "_site"), help="the built site (default _site/)")
    ap.add_argument("--work", default=str(ROOT / "_build" / "site"), help="staging and cache")
    ap.add_argument("--fast", action="store_true", help="execute the notebooks in fast mode")
    ap.add_argument(
        "--only", nargs="*", help="notebook numbers to include (e.g. 02 04; none: no notebook)"
    )
    ap.add_argument("--docs", nargs="*", help="docs pages to include, by name (default: all)")
    ap.add_argument("--api", nargs="*", help="redo_lite modules to document (default: all)")
    ap.add_argument("--train-minutes", type=float, default=3.0, help="for notebooks that train")
    ap.add_argument("--jobs", type=int, default=1, help="notebooks executed at once")
    ap.add_argument("--check", action="store_true", help="then check every page in Chromium")
    a = ap.parse_args(argv)

    t0 = time.time()
    out, work = Path(a.out).resolve(), Path(a.work).resolve()
    src, cache, runs = work / "src", work / "executed", work / "runs"
    shutil.rmtree(src, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    staged = stage_pages(src, a.docs, a.api)
    log(f"staged {len(staged['docs'])} docs pages, {len(staged['api'])} API pages")

    notebooks = [
        p
        for p in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
        if a.only is None or p.name[:2] in a.only
    ]
    digest, device = package_digest(), device_line()
    jobs = []
    for path in notebooks:
        env = build_env(nbformat.read(path, 4), path.stem, runs, a.fast, a.train_minutes)
        jobs.append((path, src / "notebooks" / path.name, cache, env, digest, device))
    if a.jobs > 1:  # notebooks side by side: one thread each
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ThreadPoolExecutor(max(1, a.jobs)) as pool:
        for msg in pool.map(lambda job: execute(*job), jobs):
            log(msg)
    manifest = {
        "notebooks": {p.stem: page_facts(src / "notebooks" / p.name, p) for p in notebooks},
        "docs": staged["docs"],
        "api": staged["api"],
        "fast": a.fast,
    }

    t1 = time.time()
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(ROOT / "site")]
    res = subprocess.run([*cmd, str(src), str(out)], env={**os.environ, "PYTHONPATH": str(ROOT)})
    if res.returncode:
        print(f"error: sphinx-build failed (exit {res.returncode}); sources in {src}")
        return 1
    if "playground" in staged["docs"]:
        for line in build_playground(out / "playground").splitlines():
            log(f"playground: {line}")
    (out / "site-manifest.json").write_text(json.dumps(manifest, indent=1))
    (out / ".nojekyll").touch()
    log(
        f"built {out} ({len(notebooks)} notebooks, {len(staged['docs'])} docs pages, "
        f"{len(staged['api'])} API pages) in {time.time() - t0:.0f} s "
        f"(notebooks {t1 - t0:.0f} s, sphinx {time.time() - t1:.0f} s)"
    )
    if a.check:
        import check_site

        return check_site.main([str(out)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
