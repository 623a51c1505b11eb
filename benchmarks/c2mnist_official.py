"""A model on colored-2-MNIST drawn the official way, at any size, through the CLI's ``segment``.

For each size it builds the official variant (``data_prep.c2mnist --rule official``: digits
binarised at 0.5 and resized with nearest neighbour to 56/128 of the side, the official colour
ranges, random painting order; test digits, never seen in training), runs
``python -m redo_lite segment`` on its images (the code path a user runs), and scores the label
maps against the full-resolution ground truth: digit IoU with each image's best permutation (the
official convention) and with one permutation for the whole set.

    python benchmarks/c2mnist_official.py [--run checkpoints/c2mnist-cpu] [--sizes 32 64 128]
        [--json benchmarks/results/c2mnist_official.json]

``--json`` writes the figures into that file under the run's name (other runs' entries stay), with
the command that printed them: the source of these figures on the pages.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redo_lite.metrics import score  # noqa: E402


def build_variant(root: Path, size: int, images: int, seed: int) -> Path:
    """The official variant at ``size`` px (test split only), built once under ``root``."""
    from data_prep.c2mnist import build

    out = root / f"official{size}-seed{seed}-n{images}"
    if not (out / "info.json").exists():
        build(out, size=size, seed=seed, n_train=0, n_val=0, n_test=images, rule="official")
    return out


def segment_and_score(run: str, data: Path, out: Path, regions: int = 3) -> dict:
    """``python -m redo_lite segment`` on data/images, then scores against data/masks."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "redo_lite",
            "segment",
            "--run",
            run,
            "--images",
            str(data / "images"),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    stems = (data / "splits" / "test.txt").read_text().split()

    def read(folder):
        return torch.from_numpy(
            np.stack([np.asarray(Image.open(folder / f"{s}.png")) for s in stems])
        )

    return score(read(out), read(data / "masks"), regions)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", default="checkpoints/c2mnist-cpu")
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--root", type=Path, default=ROOT / "data", help="where the variants are built")
    ap.add_argument("--target", type=float, default=0.85)
    ap.add_argument("--json", type=Path, help="also write the figures into this file")
    a = ap.parse_args(argv)
    results = {}
    for size in a.sizes:
        data = build_variant(a.root, size, a.images, a.seed)
        with tempfile.TemporaryDirectory() as out:
            s = segment_and_score(a.run, data, Path(out) / "labels")
        results[size] = s
        print(
            f"official colored-2-MNIST {size:3d} px, {s['images']} images: "
            f"digit IoU {s['iou']:.3f} "
            f"(one permutation {s['iou_split']:.3f}; even / odd "
            f"{s['iou_split_regions'][1]:.3f} / {s['iou_split_regions'][2]:.3f}), "
            f"accuracy {s['acc']:.3f}",
            flush=True,
        )
    reached = [size for size, s in results.items() if s["iou"] >= a.target]
    figures = ", ".join(f"{k} px {v['iou']:.3f}" for k, v in results.items())
    print(f"{a.run}: digit IoU >= {a.target} at {len(reached)} of {len(results)} sizes ({figures})")
    if a.json:
        write_json(a, results)


def write_json(a, results: dict) -> None:
    command = ["python3 benchmarks/c2mnist_official.py", "--run", a.run, "--images", a.images]
    command += ["--seed", a.seed, "--sizes", *a.sizes]
    old = json.loads(a.json.read_text()) if a.json.exists() else {}
    runs = old.get("runs", {})
    runs[a.run] = {
        "command": " ".join(map(str, command)),
        "sizes": {
            str(size): {
                "images": s["images"],
                **{k: round(float(s[k]), 4) for k in ("acc", "iou", "iou_split")},
            }
            for size, s in results.items()
        },
    }
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps({"runs": runs}, indent=2) + "\n")
    print(f"figures written to {a.json}")


if __name__ == "__main__":
    main()
