"""Small stand-ins in the exact upstream layouts, for tests and for the notebooks' fast mode on
machines that cannot download the real data sets. Random images; masks are discs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def disc(h, w, cy, cx, r):
    yy, xx = np.mgrid[:h, :w]
    return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r


def make_flowers(
    src: Path, n: int = 6, h: int = 60, w: int = 80, seed: int = 0, splits=None
) -> Path:
    """``jpg/image_%05d.jpg``, ``segmim/segmim_%05d.jpg`` (blue (0,0,254) background) and
    ``setid.mat`` (trnid, valid, tstid). Each image: a noisy background with a brighter textured
    disc, the flower, at a random place."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    src = Path(src)
    (src / "jpg").mkdir(parents=True, exist_ok=True)
    (src / "segmim").mkdir(exist_ok=True)
    for i in range(1, n + 1):
        r = int(rng.integers(min(h, w) // 5, min(h, w) // 3))
        cy, cx = int(rng.integers(r, h - r)), int(rng.integers(r, w - r))
        inside = disc(h, w, cy, cx, r)
        img = rng.integers(0, 120, (h, w, 3)).astype(np.uint8)
        img[inside] = (
            rng.integers(120, 255, 3) * rng.uniform(0.8, 1.0, (int(inside.sum()), 1))
        ).astype(np.uint8)
        Image.fromarray(img).save(src / "jpg" / f"image_{i:05d}.jpg")
        seg = np.zeros((h, w, 3), np.uint8)
        seg[:] = (0, 0, 254)
        seg[inside] = (200, 150, 100)
        Image.fromarray(seg).save(src / "segmim" / f"segmim_{i:05d}.jpg", quality=100)
    ids = np.arange(1, n + 1)
    if splits is None:  # about 1/6 test, 1/6 val, the rest train
        k = max(1, n // 6)
        splits = {"trnid": ids[:k], "valid": ids[k : 2 * k], "tstid": ids[2 * k :]}
    savemat(src / "setid.mat", {k: np.asarray(v) for k, v in splits.items()})
    return src
