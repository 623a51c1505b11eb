"""docs/use-a-model.md: every Python block runs as written, on a small colored-2-MNIST folder in
place of data/c2mnist32, and the command line it shows is the one the CLI accepts."""

import re
import shutil
from pathlib import Path

import matplotlib

from redo_lite.__main__ import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "use-a-model.md").read_text()


def test_every_python_block_of_the_page_runs(tmp_path, monkeypatch):
    from data_prep.c2mnist import build

    matplotlib.use("Agg")
    data = tmp_path / "c2mnist32"
    build(data, size=32, seed=0, n_train=8, n_val=4, n_test=8)
    images = tmp_path / "images"
    images.mkdir()
    for p in sorted((data / "images").glob("test_*.png"))[:3]:
        shutil.copy(p, images / p.name)
    monkeypatch.chdir(ROOT)  # the page's paths start at the repository root
    blocks = re.findall(r"^```python\n(.*?)^```", PAGE, re.M | re.S)
    assert len(blocks) == 3
    for block in blocks:
        code = (
            block.replace('"data/c2mnist32/images"', repr(str(images)))
            .replace("data/c2mnist32/images/", f"{images}/")
            .replace('"data/c2mnist32"', repr(str(data)))
            .replace('"masks"', repr(str(tmp_path / "masks")))
        )
        exec(compile(code, "docs/use-a-model.md", "exec"), {})
    assert sorted(p.name for p in (tmp_path / "masks").iterdir()) == sorted(
        p.name for p in images.iterdir()
    )


def test_the_commands_of_the_page_parse():
    commands = re.findall(r"^python3 -m redo_lite (.+)$", PAGE, re.M)
    assert {c.split()[0] for c in commands} == {"segment", "evaluate"}
    for c in commands:
        build_parser().parse_args(c.split())
