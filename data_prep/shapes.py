r"""textured-shapes: one textured object on a textured background (n=2), the stepping stone.

Each image: a background of random stripes in two colours, and one ellipse (random size, aspect,
angle and place) filled with a noisy texture in two other colours. Ground truth: 0 background,
1 object. It is not separable by colour alone (the colours are drawn at random for every image),
so a model has to find the *object*; ReDO learns it in minutes on a CPU, long before
colored-2-MNIST.

    python -m data_prep.shapes --out data/shapes [--size 32] [--seed 0]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .common import DatasetWriter, arg_parser, script_main


def make_sample(rng: np.random.Generator, size: int):
    yy, xx = np.mgrid[0:size, 0:size] / size
    c1, c2, c3, c4 = rng.uniform(0, 1, (4, 3))
    # background: stripes at a random angle and frequency
    a, f = rng.uniform(0, np.pi), rng.uniform(3, 7)
    stripes = 0.5 + 0.5 * np.sin(
        2 * np.pi * f * (np.cos(a) * xx + np.sin(a) * yy) + rng.uniform(0, 6.3)
    )
    img = stripes[..., None] * c1 + (1 - stripes[..., None]) * c2
    # object: an ellipse filled with blotchy noise
    cy, cx = rng.uniform(0.3, 0.7, 2)
    ry, rx = rng.uniform(0.15, 0.3, 2)
    t = rng.uniform(0, np.pi)
    dy, dx = yy - cy, xx - cx
    u, v = np.cos(t) * dx + np.sin(t) * dy, -np.sin(t) * dx + np.cos(t) * dy
    inside = (u / rx) ** 2 + (v / ry) ** 2 <= 1
    coarse = rng.uniform(0, 1, (size // 4 + 1, size // 4 + 1))
    noise = np.kron(coarse, np.ones((4, 4)))[:size, :size][..., None]
    img[inside] = (noise * c3 + (1 - noise) * c4)[inside]
    return (img * 255).round().astype(np.uint8), inside.astype(np.uint8)


def build(
    out: Path,
    size: int = 32,
    seed: int = 0,
    n_train: int = 5000,
    n_val: int = 500,
    n_test: int = 500,
):
    print(f"textured-shapes {size}px -> {out}")
    writer = DatasetWriter(out, "textured-shapes", {"size": size, "seed": seed})
    for split, count, offset in (("train", n_train, 0), ("val", n_val, 1), ("test", n_test, 2)):
        rng = np.random.default_rng([seed, offset])
        writer.fill(split, count, lambda r=rng: make_sample(r, size))
    writer.finish(
        {
            "name": "textured-shapes",
            "regions": 2,
            "size": size,
            "seed": seed,
            "labels": {"0": "background", "1": "object"},
            "counts": {"train": n_train, "val": n_val, "test": n_test},
        }
    )


def main(argv=None):
    ap = arg_parser(__doc__, 5000, 500, 500)
    script_main(ap, lambda a: build(a.out, a.size, a.seed, a.train, a.val, a.test), argv)


if __name__ == "__main__":
    main()
