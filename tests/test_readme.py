"""The README is the front page: what it promises is what CI runs and what the repository holds."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_lines(text: str) -> set[str]:
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    return {line.strip() for block in blocks for line in block.splitlines()}


def test_ci_runs_exactly_the_readme_test_command():
    ci = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.startswith(("python3 ", "bash "))
    ]
    assert len(ci) == 1, ci
    assert ci[0] in code_lines(README), f"README does not show the CI command: {ci[0]}"


def test_the_front_page_is_short_and_links_the_paper_the_code_and_the_picture():
    assert len(README.splitlines()) <= 200
    assert "https://arxiv.org/abs/1905.13539" in README
    assert "https://github.com/mickaelChen/ReDO" in README
    for image in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README):
        if not image.startswith("http"):
            assert (ROOT / image).is_file(), (
                f"README shows a picture that is not committed: {image}"
            )
    assert "docs/figures/redraws.png" in README


# Pages written beside the front page (with the exercises, colored-2-MNIST, IEM and the annotated
# package): a link to one of them is skipped, visibly, while the page is not in the checkout.
ALONGSIDE = {"docs/authoring.md", "docs/c2mnist.md", "docs/iem.md", "docs/equations.md"}


def test_every_docs_link_in_the_readme_exists():
    links = set(re.findall(r"\]\((docs/[^)#\s]+)", README))
    missing = sorted(t for t in links if not (ROOT / t).exists())
    assert not set(missing) - ALONGSIDE, f"README links to missing pages: {missing}"
    if missing:
        pytest.skip(f"README links to {missing}, not in this checkout yet")


def test_the_readmes_method_map_is_written_from_the_registry_and_current():
    """README's "Where the method is": the method's line count and the notebook -> module table
    come from tools/method_map.py; a stale README (a renamed function, a new exercise, a changed
    line count) fails here until the tool is run."""
    from conftest import load_script

    mm = load_script("tools/method_map.py")
    assert mm.main(["--check"]) == 0, "run: python3 tools/method_map.py"
    stale = README.replace("<!-- lines:method -->", "<!-- lines:method -->1", 1)
    assert mm.render(stale) == README  # the tool writes the count back, whatever stood there
    assert mm.method_lines() > 300


def test_the_method_map_names_only_what_exists():
    from conftest import load_script

    mm = load_script("tools/method_map.py")
    assert callable(mm.resolve("redo_lite.step.train_step"))
    with pytest.raises(AttributeError):
        mm.resolve("redo_lite.step.no_such_function")
