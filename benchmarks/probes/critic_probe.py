"""Does a trained discriminator know what a colored-2-MNIST image must hold?

ReDO can only split the two digits if D punishes a redraw that loses one (a digit painted in the
background's colour) or gives both digits one colour. This script edits real validation images in
exactly those ways, with the ground-truth masks, and prints D's mean score and the share scored
"real" (D > 0) for each edit. An edit scoring as high as the real images is one D does not see.

    python3 benchmarks/probes/critic_probe.py RUN [--data data/c2mnist32] [--images 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository

from redo_lite.data import ImageFolderData  # noqa: E402
from redo_lite.run import load_run  # noqa: E402


def paint(x: torch.Tensor, gt: torch.Tensor, target: int, source: int) -> torch.Tensor:
    """Every pixel of region ``target`` painted with the mean colour of region ``source``."""
    y = x.clone()
    for i in range(len(x)):
        if (gt[i] == source).any() and (gt[i] == target).any():
            y[i][:, gt[i] == target] = x[i][:, gt[i] == source].mean(1)[:, None]
    return y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run")
    ap.add_argument("--data", default="data/c2mnist32")
    ap.add_argument("--images", type=int, default=200)
    ap.add_argument("--which", default="last", choices=["last", "best"])
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg, nets = load_run(a.run, a.which)
    data = ImageFolderData(a.data, "val", cfg.size, cfg.regions, need_masks=True, limit=a.images)
    x, gt = data.batch(torch.arange(len(data)))
    edits = {
        "real": x,
        "even digit erased": paint(x, gt, 1, 0),
        "odd digit erased": paint(x, gt, 2, 0),
        "odd digit in the even one's colour": paint(x, gt, 2, 1),
        "even digit in the odd one's colour": paint(x, gt, 1, 2),
    }
    print(f"{a.run} ({a.which}.pt), {len(x)} validation images")
    with torch.no_grad():
        for name, images in edits.items():
            s = nets["D"](images)
            print(
                f"  {name:36s} mean D {s.mean().item():+.3f}   "
                f"scored real {(s > 0).float().mean().item():.2f}"
            )


if __name__ == "__main__":
    main()
