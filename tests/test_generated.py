"""Generated files are checked where they are made: the diagrams (tools/draw_diagrams.py), the
learner copies and the README's Colab badges (tools/make_learner_notebooks.py) fail here when a
committed file is not what its generator writes; pre-commit runs the same checks."""

import shutil
from pathlib import Path

import yaml
from conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
draw = load_script("tools/draw_diagrams.py")
gen = load_script("tools/make_learner_notebooks.py")


def test_every_committed_diagram_is_what_its_module_draws(capsys):
    assert draw.main(["--check"]) == 0, capsys.readouterr().out


def test_the_diagram_check_fails_on_a_stale_diagram_and_names_it(tmp_path, capsys):
    out = tmp_path / "figures"
    shutil.copytree(ROOT / "notebooks" / "figures", out)
    name = "nb03_redraw_pipeline.svg"
    (out / name).write_text((out / name).read_text().replace("</svg>", "<!-- edited --></svg>"))
    assert draw.main(["--out", str(out), "--check", "--only", name]) == 1
    assert capsys.readouterr().out.strip() == (
        f"stale diagrams (run python tools/draw_diagrams.py): {name}"
    )
    assert draw.main(["--out", str(out), "--only", name]) == 0  # redrawn
    assert draw.main(["--out", str(out), "--check", "--only", name]) == 0
    assert draw.main(["--check", "--only", "nothere.svg"]) == 1


def test_the_learner_copies_and_readme_badges_are_current(capsys):
    assert gen.main(["--check"]) == 0, capsys.readouterr().out


def test_a_readme_badge_written_by_hand_is_stale_until_generated(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    right = gen.BADGE.format(repo=gen.REPO, path="notebooks/03_redrawing.ipynb")
    fork = right.replace(gen.REPO, "someone/else")
    (tmp_path / "README.md").write_text(f"| 03 | {fork} |\n")
    assert gen.main(["--root", str(tmp_path), "--check"]) == 1
    out = capsys.readouterr().out
    assert "stale (run python tools/make_learner_notebooks.py): README.md" in out
    assert gen.main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / "README.md").read_text() == f"| 03 | {right} |\n"
    assert gen.main(["--root", str(tmp_path), "--check"]) == 0


def test_pre_commit_runs_every_generator_check_with_installed_tools():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [r["repo"] for r in config["repos"]] == ["local"]  # nothing fetched
    hooks = {h["id"]: h for h in config["repos"][0]["hooks"]}
    for hook, command in {
        "learner-copies": "python3 tools/make_learner_notebooks.py --check",
        "diagrams": "python3 tools/draw_diagrams.py --check",
        "figures": "python3 tools/figures.py --check",
    }.items():
        assert hooks[hook]["entry"] == command and hooks[hook]["language"] == "system"
        assert hooks[hook]["pass_filenames"] is False
