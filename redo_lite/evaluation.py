"""Scoring a mask network on a split of a data folder: label maps, then metrics.py's scores."""

from __future__ import annotations

import torch

from .data import DataError
from .metrics import region_areas, score


@torch.no_grad()
def predict(F: torch.nn.Module, images: torch.Tensor, batch: int = 100, soft: bool = False):
    """Hard label maps (argmax over the soft masks) for images in [-1, 1]: N,S,S int64; with
    ``soft=True`` also the mean soft mask of each region over the images (n,)."""
    dev = next(F.parameters()).device
    labels, soft_sum = [], 0.0
    for i in range(0, len(images), batch):
        m = F(images[i : i + batch].to(dev))
        labels.append(m.argmax(1).cpu())
        soft_sum = soft_sum + m.sum((0, 2, 3)).cpu()
    labels = torch.cat(labels)
    return (labels, soft_sum / labels[0].numel() / len(images)) if soft else labels


def evaluate(F: torch.nn.Module, data, limit: int | None = None) -> dict:
    """Accuracy and IoU at the best permutation (metrics.score) on the images of ``data`` that have
    a ground-truth mask, the share of pixels each region wins after argmax (``areas``) and each
    region's mean soft mask (``soft_areas``)."""
    if data.masks is None:
        raise DataError(f"{data.root}/masks: no ground-truth masks to evaluate against")
    idx = torch.arange(len(data)) if data.has_mask is None else data.has_mask.nonzero()[:, 0]
    idx = idx[: limit or len(idx)]
    x, gt = data.batch(idx)
    pred, soft = predict(F, x, soft=True)
    out = score(pred, gt, data.regions)
    out["areas"] = region_areas(pred, data.regions).tolist()
    out["soft_areas"] = soft.tolist()
    return out
