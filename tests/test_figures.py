"""Every measured figure is written once, in benchmarks/results/*.json: tools/figures.py writes it
into the marked spans of the pages, and its --check fails while a page shows another value."""

import json
import shutil
from pathlib import Path

from conftest import load_script

figures = load_script("tools/figures.py")
ROOT = Path(__file__).resolve().parents[1]


def span(ref, text="0"):
    return f"<!-- fig {ref} -->{text}<!-- /fig -->"


def repo(tmp_path, results: dict, pages: dict) -> Path:
    """A repository with results files and pages (path -> text)."""
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    for name, data in results.items():
        (tmp_path / "benchmarks" / "results" / f"{name}.json").write_text(json.dumps(data))
    for path, text in pages.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


def test_the_repository_pages_show_the_figures_of_benchmarks_results(capsys):
    assert figures.main(["--check"]) == 0, capsys.readouterr().out
    readme = (ROOT / "README.md").read_text()
    results = (ROOT / "docs" / "results.md").read_text()
    for page in (readme, results):
        assert span("shipped:models.c2mnist-cpu.test.iou", "")[: -len("<!-- /fig -->")] in page
    assert "#the-shipped-models" in (ROOT / "checkpoints/c2mnist-cpu/README.md").read_text()
    assert "## The shipped models" in results  # the anchor the checkpoint READMEs link to


def test_one_changed_figure_changes_every_page_that_shows_it_and_check_fails_until_then(
    tmp_path, capsys
):
    iou = "shipped:models.a.iou"
    root = repo(
        tmp_path,
        {"shipped": {"models": {"a": {"iou": 0.9023, "acc": 0.993}}}},
        {
            "README.md": f"| a | {span(iou)} |\n",
            "docs/results.md": f"IoU **{span(iou)}**, accuracy {span('shipped:models.a.acc')}\n",
            "checkpoints/a/README.md": f"prints {span(iou)}.\n",
            "docs/log/old.md": "a past figure, typed: 0.5\n",
        },
    )
    assert figures.main(["--root", str(root)]) == 0
    assert span(iou, "0.902") in (root / "README.md").read_text()
    assert figures.main(["--root", str(root), "--check"]) == 0

    data = root / "benchmarks" / "results" / "shipped.json"
    data.write_text(json.dumps({"models": {"a": {"iou": 0.9512, "acc": 0.993}}}))
    capsys.readouterr()
    assert figures.main(["--root", str(root), "--check"]) == 1
    out = capsys.readouterr().out
    for page in ("README.md:1", "docs/results.md:1", "checkpoints/a/README.md:1"):
        assert f"{page}: {iou} is 0.951, the page shows '0.902'" in out
    assert figures.main(["--root", str(root)]) == 0
    for page in ("README.md", "docs/results.md", "checkpoints/a/README.md"):
        assert span(iou, "0.951") in (root / page).read_text()
    assert (
        "accuracy " + span("shipped:models.a.acc", "0.993")
        in (root / "docs/results.md").read_text()
    )
    assert (root / "docs/log/old.md").read_text() == "a past figure, typed: 0.5\n"
    assert figures.main(["--root", str(root), "--check"]) == 0


def test_a_figure_edited_on_the_page_fails_the_check(tmp_path, capsys):
    root = repo(tmp_path, {"r": {"x": 0.5}}, {"README.md": span("r:x", "0.500") + "\n"})
    assert figures.main(["--root", str(root), "--check"]) == 0
    (root / "README.md").write_text(span("r:x", "0.600") + "\n")
    assert figures.main(["--root", str(root), "--check"]) == 1
    assert "README.md:1: r:x is 0.500, the page shows '0.600'" in capsys.readouterr().out


def test_formats_reductions_and_keys_with_dots(tmp_path):
    data = {
        "targets": {"iou_0.8_within_10_min": "4 of 5"},
        "seeds": [{"iou": 0.93}, {"iou": 0.978}, {"iou": 0.81}],
        "by_kind": {"p": {"iou": 0.5}, "q": {"iou": 0.7}},
        "share": 0.9917,
    }
    refs = {
        "r:targets.iou_0.8_within_10_min": "4 of 5",
        "r:min:seeds.*.iou": "0.810",
        "r:max:seeds.*.iou": "0.978",
        "r:count>=0.85:seeds.*.iou": "2",
        "r:max:by_kind.*.iou": "0.700",
        "r:seeds.-1.iou": "0.810",
        "r:share|.1%": "99.2%",
    }
    root = repo(tmp_path, {"r": data}, {"README.md": " ".join(span(r) for r in refs)})
    assert figures.main(["--root", str(root)]) == 0
    text = (root / "README.md").read_text()
    for ref, want in refs.items():
        ref, _, fmt = ref.partition("|")
        assert f"<!-- fig {ref}{'|' + fmt if fmt else ''} -->{want}<!-- /fig -->" in text


def test_a_span_naming_a_missing_file_or_figure_is_one_line_naming_the_page(tmp_path, capsys):
    root = repo(tmp_path, {"r": {"x": 1}}, {"docs/a.md": "\n" + span("r:y")})
    assert figures.main(["--root", str(root), "--check"]) == 1
    assert (
        capsys.readouterr().out.strip() == "error: docs/a.md:2 (r.json): no figure 'y' (no key 'y')"
    )
    (root / "docs/a.md").write_text(span("nothere:x"))
    assert figures.main(["--root", str(root)]) == 1
    assert "docs/a.md:1: no results file benchmarks/results/nothere.json" in capsys.readouterr().out
    assert (root / "docs/a.md").read_text() == span("nothere:x")  # nothing written


def test_the_real_results_drive_the_real_pages(tmp_path, capsys):
    """The acceptance test on a copy of the repository: one figure changed in benchmarks/results/
    makes the check fail, and the generator changes every page that shows it."""
    root = tmp_path / "repo"
    for path in figures.pages(ROOT):
        dest = root / path.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    shutil.copytree(ROOT / "benchmarks" / "results", root / "benchmarks" / "results")
    shipped = root / "benchmarks" / "results" / "shipped.json"
    data = json.loads(shipped.read_text())
    data["models"]["c2mnist-cpu"]["test"]["iou"] = 0.8771
    shipped.write_text(json.dumps(data))
    assert figures.main(["--root", str(root), "--check"]) == 1
    stale = capsys.readouterr().out
    assert figures.main(["--root", str(root)]) == 0
    changed = {
        p.relative_to(root).as_posix()
        for p in figures.pages(root)
        if p.read_text() != (ROOT / p.relative_to(root)).read_text()
    }
    assert {
        "README.md",
        "docs/results.md",
        "docs/iem.md",
        "checkpoints/c2mnist-cpu/README.md",
    } <= changed
    for page in changed:
        assert page in stale
        assert span("shipped:models.c2mnist-cpu.test.iou", "0.877") in (root / page).read_text()


def test_a_span_shown_as_code_is_an_example_and_left_alone(tmp_path):
    example = "`" + span("NAME:PATH", "0.902") + "`"
    root = repo(tmp_path, {}, {"docs/contributing.md": f"write {example}\n"})
    assert figures.main(["--root", str(root), "--check"]) == 0
    assert figures.main(["--root", str(root)]) == 0
    assert (root / "docs/contributing.md").read_text() == f"write {example}\n"
