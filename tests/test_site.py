"""The course site: the staging rules on their own (fast), and a small real build opened in
Chromium (slow): two notebooks in fast mode, one docs page, one API page."""

import json
import shutil

import nbformat
import pytest
from conftest import load_script

site = load_script("tools/build_site.py")


def test_links_to_files_off_the_site_go_to_github(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "data-format.md").write_text("x")
    text = (
        "[a](data-format.md) [b](../redo_lite/config.py#L3) [c](https://example.org/x) "
        "![d](figures/missing.png) [e](../checkpoints/c2mnist-cpu)"
    )
    out = site.rewrite_links(text, site.Path("docs/results.md"), tmp_path)
    assert "[a](data-format.md)" in out  # on the site: kept
    assert f"[b]({site.REPO_URL}/blob/main/redo_lite/config.py#L3)" in out
    assert "[c](https://example.org/x)" in out
    assert f"![d]({site.REPO_URL}/blob/main/docs/figures/missing.png)" in out
    assert f"[e]({site.REPO_URL}/tree/main/checkpoints/c2mnist-cpu)" in out


def test_the_build_env_uses_the_shipped_model_and_fresh_run_folders(tmp_path):
    nb = nbformat.v4.new_notebook()
    params = 'A = env("REDO_FAST", 0)\nB = env("REDO_RUN", "")\nC = env("REDO_USE_SHIPPED", 0)'
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]})]
    env = site.build_env(nb, "08_x", tmp_path, fast=False, train_minutes=3)
    assert env == {
        "REDO_FAST": "0",
        "REDO_USE_SHIPPED": "1",
        "REDO_RUN": str(tmp_path / "08_x" / "redo_run"),
    }
    nb.cells[0].source = 'A = env("REDO_TRAIN_MINUTES", 20)'
    assert site.build_env(nb, "10_x", tmp_path, True, 2.5)["REDO_TRAIN_MINUTES"] == "2.5"


def test_widget_outputs_become_a_note_and_progress_bars_stay():
    nb = nbformat.v4.new_notebook()
    widget = {"model_id": "1", "version_major": 2, "version_minor": 0}
    outs = [
        nbformat.v4.new_output(
            "display_data", {site.WIDGET_MIME: widget, "text/plain": "HBox(children=(...))"}
        ),
        nbformat.v4.new_output(
            "display_data", {site.WIDGET_MIME: widget, "text/plain": "100%|##########| 3/3"}
        ),
    ]
    nb.cells = [nbformat.v4.new_code_cell("x", outputs=outs)]
    assert site.tidy_outputs(nb) == 1
    assert nb.cells[0].outputs[0]["data"] == {"text/markdown": site.WIDGET_NOTE}
    assert site.WIDGET_MIME in nb.cells[0].outputs[1]["data"]


def test_an_exercise_shows_the_learners_scaffold_and_folds_its_solution():
    nb = nbformat.v4.new_notebook()
    solved = (
        "def total(xs):\n"
        '    """The sum."""\n'
        "    ### BEGIN SOLUTION\n"
        "    # HINT: one builtin\n"
        "    # add them up\n"
        "    s = sum(xs)\n"
        "    return s\n"
        "    ### END SOLUTION"
    )
    out = nbformat.v4.new_output("stream", text="made by the solution\n")
    nb.cells = [nbformat.v4.new_code_cell(solved, outputs=[out]), nbformat.v4.new_code_cell("x")]
    assert site.fold_solutions(nb) == 1
    scaffold, folded, after = nb.cells
    assert scaffold.source == site.exercise_source(solved)  # what the learner copy shows
    assert "raise NotImplementedError" in scaffold.source and "sum(xs)" not in scaffold.source
    assert scaffold.outputs == [out]
    assert folded.cell_type == "markdown"
    assert folded.source.startswith('<details class="solution"><summary>show solution</summary>')
    assert "    s = sum(xs)\n    return s" in folded.source and "### BEGIN" not in folded.source
    assert "HINT" not in folded.source and folded.source.endswith("</details>")
    assert after.source == "x"


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium")
def test_a_small_site_builds_and_every_page_shows_its_figures_and_equations(tmp_path, course_data):
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    check = load_script("tools/check_site.py")
    out = tmp_path / "site"
    args = ["--fast", "--only", "02", "04", "--docs", "data-format", "--api", "losses"]
    assert site.main([*args, "--out", str(out), "--work", str(tmp_path / "work")]) == 0
    manifest = json.loads((out / "site-manifest.json").read_text())
    assert list(manifest["notebooks"]) == ["02_generative_process", "04_hinge_and_discriminator"]
    assert all(v["images"] > 0 and v["math"] for v in manifest["notebooks"].values())
    result = check.check_site(out, verbose=False)
    assert result["problems"] == []  # console errors and failed requests (favicon) included
    pages = result["pages"]
    assert all(p["console"] == [] for p in pages.values())
    assert {"index.html", "docs/data-format.html", "api/losses.html"} <= set(pages)
    for stem, want in manifest["notebooks"].items():
        got = pages[f"notebooks/{stem}.html"]
        assert got["output_images"] >= want["images"] > 0 and got["maths"] > 0
    assert pages["api/losses.html"]["api_members"] > 0
    for stem, want in manifest["notebooks"].items():  # every exercise: scaffold, solution folded
        got = pages[f"notebooks/{stem}.html"]
        assert got["scaffolds"] == got["solutions"] == want["exercises"] > 0
        assert got["solutions_open"] == 0
    last = (out / "notebooks" / "04_hinge_and_discriminator.html").read_text()
    assert 'class="left-prev"' in last and 'class="right-next"' not in last  # the course ends
    assert 'rel="icon"' in last
    page = (out / "notebooks" / "02_generative_process.html").read_text()
    assert "Where the outputs on this page come from" in page and "learner copy" in page
    assert "cdn." not in page.lower()  # MathJax is served by the site itself
