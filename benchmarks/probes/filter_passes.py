"""What the colour filter of self-training makes of a run's masks, pass by pass: the object IoU of
F's own labels and of its masks filtered 1, 2, 4, ... times
(``beyond.bilateral.colour_filter``), and, as a floor, of a centred box filtered as many
times (what the filter finds with no ReDO).

    python3 benchmarks/probes/filter_passes.py --run RUN --data DIR [--passes 1 8 16 32]
        [--images 300]

Scored on the validation split (the images the self-training phase decides by) with the course's
metric (``redo_lite.metrics.score``: per image, best permutation, mean over object regions). No F is
trained here: this is the label quality the self-training phase starts from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from beyond.bilateral import colour_filter  # noqa: E402
from redo_lite.data import ImageFolderData  # noqa: E402
from redo_lite.metrics import score  # noqa: E402
from redo_lite.run import load_run  # noqa: E402


def centred_box(b: int, n: int, size: int) -> torch.Tensor:
    """Soft masks B,n,S,S: the middle half of the image (a square) region 1, the rest region 0."""
    m = torch.zeros(b, n, size, size)
    m[:, 0] = 1
    q = size // 4
    m[:, 0, q : size - q, q : size - q] = 0
    m[:, 1, q : size - q, q : size - q] = 1
    return m


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--passes", type=int, nargs="+", default=[1, 8, 16, 32])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--which", default="best", choices=["best", "last"])
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg, nets = load_run(a.run, a.which)
    val = ImageFolderData(a.data, "val", cfg.size, cfg.regions, need_masks=True, limit=a.images)
    x, gt = val.batch(torch.arange(len(val)))
    with torch.no_grad():
        soft = nets["F"](x).float()
    rgb = (x + 1) / 2
    box = centred_box(len(x), cfg.regions, cfg.size)
    out = {"F": {0: score(soft.argmax(1), gt, cfg.regions)["iou"]}, "centred box": {}}
    out["centred box"][0] = score(box.argmax(1), gt, cfg.regions)["iou"]
    for p in a.passes:
        out["F"][p] = score(colour_filter(soft, rgb, p).argmax(1), gt, cfg.regions)["iou"]
        out["centred box"][p] = score(colour_filter(box, rgb, p).argmax(1), gt, cfg.regions)["iou"]
    print(f"{a.run} on {len(x)} validation images of {a.data}: object IoU after P passes")
    for name, row in out.items():
        print(f"  {name:12s} " + "  ".join(f"P={p}: {v:.3f}" for p, v in row.items()))
    return out


if __name__ == "__main__":
    main()
