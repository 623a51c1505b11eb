"""Which downscale serves colored-2-MNIST's thin strokes: nearest neighbour or area averaging?

Draws colored-2-MNIST the official way (``data_prep.c2mnist``, rule ``official``) at 64 and 128
px, brings every image to the model's 32 px with each downscale, and prints, against the
full-resolution ground truth (digit IoU, per-image best permutation):

* ``perfect labeller``: the best a 32 px labelling can do, each way back to full size
  (``segment_image``'s three). ``nearest``: each 32 px pixel takes the true colour (background,
  even, odd; known from the ground truth) nearest to its own, and the labels are enlarged with
  nearest neighbour. ``bilinear`` and ``guided``: soft masks that hold each region's share of the
  pixel (the one-hot ground truth through the same downscale: what an F that reads a blend could
  output), enlarged bilinearly or by ``guided_upsample``, labels taken after.
* ``lost``: the share of digit pixels whose 32 px pixel holds nothing of that digit (nearest
  neighbour sampled another pixel there; area averaging keeps a share of every pixel).
* with ``--run``: that model through ``segment_image``, each downscale, each way back.

    python3 benchmarks/probes/preprocessing.py [--images 300] [--run checkpoints/c2mnist-cpu]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from data_prep.c2mnist import load_mnist, make_sample  # noqa: E402
from redo_lite.metrics import score  # noqa: E402

DOWNSCALES = {"nearest": Image.Resampling.NEAREST, "area": Image.Resampling.BOX}


def official_images(size: int, n: int, seed: int):
    """n official-variant images (size px) and label maps, digits from the val/test part."""
    mnist, _ = load_mnist(None, False)
    X, y = mnist["test"]
    rng = np.random.default_rng([seed, 99, size])
    pairs = [
        make_sample(rng, X[y % 2 == 0], X[y % 2 == 1], size, rule="official") for _ in range(n)
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def down(a: np.ndarray, size: int, resample) -> np.ndarray:
    mode = "F" if a.dtype == np.float32 else ("RGB" if a.ndim == 3 else "L")
    return np.asarray(Image.fromarray(a, mode).resize((size, size), resample))


def to_unit(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.astype(np.float32) / 255).permute(2, 0, 1)


def iou(preds, gts) -> float:
    return score(torch.from_numpy(np.stack(preds)), torch.from_numpy(np.stack(gts)), 3)["iou"]


def ceilings(img, gt, size, resample) -> dict:
    """A perfect ``size`` px labeller's label maps at full size, each way back, and the share of
    digit pixels lost at ``size`` px."""
    from redo_lite.run import guided_upsample

    full = gt.shape[0]
    colours = np.stack([img[gt == k].mean(0) if (gt == k).any() else [1e9] * 3 for k in range(3)])
    small = down(img, size, resample).astype(np.float32)
    hard = np.argmin(((small[:, :, None] - colours[None, None]) ** 2).sum(-1), -1).astype(np.uint8)
    soft = torch.from_numpy(
        np.stack([down((gt == k).astype(np.float32), size, resample) for k in range(3)])
    )
    ys, xs = np.nonzero(gt > 0)
    shares = soft.numpy()[gt[ys, xs], ys * size // full, xs * size // full]
    return {
        "nearest": np.asarray(Image.fromarray(hard, "L").resize((full, full), Image.NEAREST)),
        "bilinear": torch.nn.functional.interpolate(soft[None], (full, full), mode="bilinear")[0]
        .argmax(0)
        .numpy(),
        "guided": guided_upsample(soft, to_unit(small), to_unit(img)).argmax(0).numpy(),
        # digit pixels whose small pixel holds nothing of that digit: nearest neighbour sampled
        # another pixel there; area averaging keeps a share of every pixel, so none
        "lost": float(np.mean(shares == 0)) if len(ys) else 0.0,
    }


BACK = ("nearest", "bilinear", "guided")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--model-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--run", help="also segment with this run folder's model")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    F = None
    if a.run:
        from redo_lite.run import load_run, segment_image

        cfg, nets = load_run(a.run)
        F = nets["F"]
    print(
        f"official colored-2-MNIST, {a.images} images a size, brought to {a.model_size} px, "
        f"digit IoU against the full-size ground truth, labels back by {' / '.join(BACK)}"
    )
    for size in a.sizes:
        imgs, gts = official_images(size, a.images, a.seed)
        for name, resample in DOWNSCALES.items():
            out = [ceilings(i, g, a.model_size, resample) for i, g in zip(imgs, gts, strict=True)]
            lost = np.mean([o["lost"] for o in out])
            line = f"{size:4d} px  {name:8s} perfect labeller " + " / ".join(
                f"{iou([o[b] for o in out], gts):.3f}" for b in BACK
            )
            line += f"  (digit pixels lost at {a.model_size} px: {lost:.1%})"
            if F is not None:
                for back in BACK:
                    pred = [
                        segment_image(F, Image.fromarray(i), cfg.size, back, resample) for i in imgs
                    ]
                    line += (
                        f"{'; ' + a.run + ': ' if back == BACK[0] else ' / '}{iou(pred, gts):.3f}"
                    )
            print(line, flush=True)


if __name__ == "__main__":
    main()
