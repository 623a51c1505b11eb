"""Can the mask network represent colored-2-MNIST at 32 px? Supervised F (k labelled images, the
same optimiser settings) with the preset's full-resolution F against the official two halvings.

    python3 benchmarks/probes/f_resolution.py [--k 16] [--steps 150] [--lr 1e-3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository

from beyond.supervised import supervised_curve  # noqa: E402
from redo_lite.config import get_preset  # noqa: E402
from redo_lite.data import ImageFolderData  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/c2mnist32")
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--test-images", type=int, default=300)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    base = get_preset("c2mnist-cpu")
    train = ImageFolderData(a.data, "train", base.size, base.regions, need_masks=True, limit=2000)
    test = ImageFolderData(
        a.data, "test", base.size, base.regions, need_masks=True, limit=a.test_images
    )
    for downs in (0, 1, 2):
        cfg = base.override([f"f_downs={downs}", f"lr_f={a.lr}"])
        (row,) = supervised_curve(cfg, train, test, [a.k], steps=a.steps)
        print(
            f"f_downs={downs} (features at {base.size >> downs} px): supervised F on {a.k} images, "
            f"{a.steps} steps -> test digit IoU {row['iou']:.3f}"
        )


if __name__ == "__main__":
    main()
