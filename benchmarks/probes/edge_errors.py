"""Where a trained F is wrong on colored-2-MNIST: how many pixels an image, how many of them on a
digit's edge, and of which kind (a halo of background taken as digit, a digit pixel lost to the
background, one digit taken for the other), with the halo split by how many of a background
pixel's 4 neighbours are digit (1: along a straight stroke; 2-4: in a corner, a notch, a hole).

    python3 benchmarks/probes/edge_errors.py --run checkpoints/c2mnist-cpu [--data data/c2mnist32]

Regions are matched to the ground truth with the split's single best permutation.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F_

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from redo_lite.data import ImageFolderData  # noqa: E402
from redo_lite.metrics import score  # noqa: E402
from redo_lite.run import load_run  # noqa: E402
from redo_lite.train import predict  # noqa: E402


def digit_neighbours(gt: torch.Tensor) -> torch.Tensor:
    """For every pixel, how many of its 4 neighbours are digit (label > 0). gt: B,H,W."""
    cross = torch.tensor([[0.0, 1, 0], [1, 0, 1], [0, 1, 0]])[None, None]
    return F_.conv2d((gt > 0).float()[:, None], cross, padding=1)[:, 0].long()


def edge_errors(pred: torch.Tensor, gt: torch.Tensor, n: int) -> dict:
    s = score(pred, gt, n)
    to_gt = torch.empty(n, dtype=torch.long)
    for g, p in enumerate(s["permutation"]):  # permutation[g] = predicted region for GT g
        to_gt[p] = g
    mapped = to_gt[pred]
    wrong = mapped != gt
    onehot = F_.one_hot(gt, n).permute(0, 3, 1, 2).float()
    near = F_.max_pool2d(onehot, 3, 1, 1).sum(1) > 1.5  # another label within one pixel
    halo, lost = (gt == 0) & (mapped > 0), (gt > 0) & (mapped == 0)
    nb = digit_neighbours(gt)
    background_edge = (gt == 0) & (nb > 0)
    images = gt.shape[0]
    return {
        "iou": s["iou_split"],
        "wrong": wrong.sum().item() / images,
        "on_edge": (wrong & near).sum().item() / max(1, wrong.sum().item()),
        "halo": halo.sum().item() / images,
        "lost": lost.sum().item() / images,
        "swapped": (wrong & (gt > 0) & (mapped > 0)).sum().item() / images,
        "halo_rate": {
            k: ((halo & (nb == k)).sum().item(), (background_edge & (nb == k)).sum().item())
            for k in range(1, 5)
        },
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", default="checkpoints/c2mnist-cpu")
    ap.add_argument("--data", default="data/c2mnist32")
    ap.add_argument("--split", default="test")
    a = ap.parse_args(argv)
    cfg, nets = load_run(a.run)
    data = ImageFolderData(a.data, a.split, cfg.size, cfg.regions, need_masks=True)
    x, gt = data.batch(torch.arange(len(data)))
    e = edge_errors(predict(nets["F"], x), gt, cfg.regions)
    print(
        f"{a.run} on {a.data} ({a.split}, {len(data)} images): "
        f"digit IoU (one permutation) {e['iou']:.3f}"
    )
    print(
        f"wrong pixels an image: {e['wrong']:.2f}, "
        f"{100 * e['on_edge']:.1f}% of them next to another label"
    )
    print(
        f"  halo (background taken as digit) {e['halo']:.2f}, "
        f"digit lost to background {e['lost']:.2f}, "
        f"one digit taken for the other {e['swapped']:.2f}"
    )
    print(
        "halo rate by digit neighbours of a background pixel: "
        + ", ".join(
            f"{k}: {h}/{t} ({100 * h / max(1, t):.0f}%)" for k, (h, t) in e["halo_rate"].items()
        )
    )


if __name__ == "__main__":
    main()
