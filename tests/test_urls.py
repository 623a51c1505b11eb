"""The repository's address is written once (pyproject.toml [project.urls]); every badge, install
cell and page follows it, and the Colab install cell leaves the installed torch alone."""

import re
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
gen = load_script("tools/make_learner_notebooks.py")
# Other projects the repository cites or downloads from, by name.
EXTERNAL = {"mickaelChen/ReDO"}
ADDRESS = re.compile(
    r"(?:github\.com|githubusercontent\.com|colab\.research\.google\.com/github)"
    r"/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)"
)


def repo_files():
    names = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    for name in filter(None, names):
        path = ROOT / name
        if path.is_file() and path.suffix not in {".png", ".pt", ".jpg"}:
            yield path


def test_the_repository_address_is_spelt_one_way():
    assert gen.REPO_URL == "https://github.com/" + gen.REPO and gen.REPO.count("/") == 1
    seen = set()
    for path in repo_files():
        for name in ADDRESS.findall(path.read_text(errors="replace")):
            name = name.rstrip(".")
            seen.add(name)
            assert name in EXTERNAL | {gen.REPO}, (
                f"{path.relative_to(ROOT)}: github address {name!r} is neither this repository's "
                f"({gen.REPO}, from pyproject.toml [project.urls]) nor a cited one ({EXTERNAL})"
            )
    assert gen.REPO in seen  # the badges are there at all


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
def test_every_notebook_has_the_badge_and_the_install_cell(folder):
    paths = sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb"))
    assert paths
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        badge = gen.BADGE.format(repo=gen.REPO, path=f"{folder}/{path.name}")
        assert badge in nb.cells[0].source, f"{path.name}: badge missing or stale"
        installs = [c.source for c in nb.cells if c.source.startswith(gen.INSTALL_MARK)]
        assert installs == [gen.install_cell_source()], f"{path.name}: install cell stale"


def test_readme_badges_point_at_the_learner_copies():
    readme = (ROOT / "README.md").read_text()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        assert gen.BADGE.format(repo=gen.REPO, path=f"notebooks/{path.name}") in readme, path.name


def test_a_notebook_without_badge_or_install_cell_gets_both():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · New\n\nText."),
        nbformat.v4.new_code_cell("1"),
    ]
    nb = gen.set_badge(nb, "solutions/99_new.ipynb")
    assert nb.cells[0].source.startswith("# 99 · New\n\n[![Open In Colab]")
    assert nb.cells[1].source == gen.install_cell_source() and nb.cells[1].id == "colab-install"
    again = gen.set_badge(nb, "solutions/99_new.ipynb")
    assert [c.source for c in again.cells] == [c.source for c in nb.cells]  # idempotent


@pytest.mark.slow
def test_the_install_cell_keeps_the_installed_torch(tmp_path, monkeypatch):
    """Run the install cell as Colab would (google.colab imported), with git and pip recorded: it
    installs the course's needs but torch and torchvision, then the course with --no-deps. Then
    hand the first pip command to the real pip with --dry-run and no index: everything it names is
    installed already here, and nothing of torch is among what it would install."""
    import shutil

    source = gen.install_cell_source()
    content = tmp_path / "content"
    content.mkdir()
    shutil.copy(ROOT / "pyproject.toml", content / "pyproject.toml")  # as a clone left it
    source = source.replace("/content/redo-course", str(content))
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.setattr("os.chdir", lambda path: calls.append(["chdir", path]))
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(compile(source, "install-cell", "exec"), {})
    pips = [c for c in calls if c[:3] == [sys.executable, "-m", "pip"]]
    assert not [c for c in calls if c[:1] == ["git"]]  # the folder is there already: no clone
    needs, course = pips
    assert needs[4:] and not [a for a in needs[4:] if a.lower().startswith("torch")]
    assert course[-3:] == ["--no-deps", "-e", str(content)]
    assert calls[-1] == ["chdir", str(content)]
    dry = [a for a in needs if a != "-q"] + ["--dry-run", "--no-index"]
    monkeypatch.undo()
    res = subprocess.run(dry, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    would = [ln for ln in res.stdout.splitlines() if ln.startswith("Would install")]
    assert all("torch" not in ln for ln in would), res.stdout
