"""Cheap ideas to compare ReDO with, each a few lines on a well-kept library. All take images in
[-1, 1] (B,3,H,W) and return label maps (B,H,W), scored with the same best-permutation metric.

* ``centre_box``: the prior that objects sit in the middle: a centred box is region 1.
* ``kmeans_colour``: per image, k-means (scikit-learn) on the pixels' colours, one cluster per
  region.
* ``grabcut``: OpenCV's GrabCut (colour models + graph cut) initialised with a centred box; where it
  finds no foreground at all, the initial box is kept.

scikit-learn and OpenCV are side material, not dependencies of the package: the ``baselines``
extra installs them (``pip install -e ".[baselines]"``; the ``lab`` extra includes it).
``require()`` says in one line what is missing and how to install it.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import torch

NEEDS = {"sklearn": "scikit-learn", "cv2": "opencv-python-headless"}  # module: package


def require(*modules: str) -> None:
    """Raise ``ModuleNotFoundError`` with one line naming the missing packages of the baselines
    (all of them when none is named) and the command that installs them."""
    missing = [NEEDS[m] for m in modules or NEEDS if importlib.util.find_spec(m) is None]
    if missing:
        raise ModuleNotFoundError(
            f"the classic baselines (notebook 11) need {' and '.join(missing)}, which the package "
            'does not install: pip install -e ".[baselines]" (the lab extra includes it)'
        )


def _uint8(images: torch.Tensor) -> np.ndarray:
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def centre_box(images: torch.Tensor, frac: float = 0.5) -> torch.Tensor:
    b, _, h, w = images.shape
    out = torch.zeros(b, h, w, dtype=torch.long)
    dh, dw = round(h * (1 - frac) / 2), round(w * (1 - frac) / 2)
    out[:, dh : h - dh, dw : w - dw] = 1
    return out


def kmeans_colour(images: torch.Tensor, regions: int, seed: int = 0) -> torch.Tensor:
    require("sklearn")
    from sklearn.cluster import KMeans

    out = []
    for img in _uint8(images):
        pixels = img.reshape(-1, 3).astype(np.float32)
        k = min(regions, len(np.unique(pixels, axis=0)))
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(pixels)
        out.append(torch.from_numpy(labels.reshape(img.shape[:2]).astype(np.int64)))
    return torch.stack(out)


def grabcut(images: torch.Tensor, frac: float = 0.8, iterations: int = 5) -> torch.Tensor:
    require("cv2")
    import cv2

    out = []
    for img in _uint8(images):
        h, w = img.shape[:2]
        mask = np.zeros((h, w), np.uint8)
        rect = (
            round(w * (1 - frac) / 2),
            round(h * (1 - frac) / 2),
            round(w * frac),
            round(h * frac),
        )
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        try:
            cv2.grabCut(
                np.ascontiguousarray(img[..., ::-1]),
                mask,
                rect,
                bgd,
                fgd,
                iterations,
                cv2.GC_INIT_WITH_RECT,
            )
            fg = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
        except cv2.error:
            fg = np.zeros((h, w), bool)
        if not fg.any():  # nothing found (e.g. a flat image): keep the initial box
            fg = centre_box(torch.zeros(1, 3, h, w), frac)[0].numpy().astype(bool)
        out.append(torch.from_numpy(fg.astype(np.int64)))
    return torch.stack(out)
