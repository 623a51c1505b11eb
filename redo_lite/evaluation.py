"""Scoring a mask network on a split of a data folder: label maps, then metrics.py's scores; and
what in those scores says a run collapsed (the paper's restart, section 4)."""

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


def collapse_signs(
    scores: dict,
    min_area: float,
    on: str = "hard",
    min_iou: float = 0.0,
    names: list[str] | None = None,
) -> list[str]:
    """What in one evaluation's scores says the run collapsed, one phrase per sign (empty: none).
    A region whose area (``on``: "hard", the share of pixels it wins after argmax, or "soft", its
    mean soft mask) is below ``min_area``; and, when the scores come from labelled images
    (``iou_split_regions``, each class's IoU at the best permutation of regions) and ``min_iou``
    is above 0, a class that no region covers: its IoU below ``min_iou``. ``names`` names the
    classes (default "label k"); label 0 counts as well (the background)."""
    signs = []
    areas = scores.get("soft_areas" if on == "soft" else "areas") or []
    if min_area > 0:
        signs += [
            f"{on} region area {a:.4f} < {min_area} (region {k})"
            for k, a in enumerate(areas)
            if a < min_area
        ]
    per_class = scores.get("iou_split_regions") if min_iou > 0 else None
    for c, iou in enumerate(per_class or []):
        if iou == iou and iou < min_iou:  # (NaN: a class absent from these images)
            name = names[c] if names and c < len(names) else f"label {c}"
            signs.append(f"no region covers the {name}: IoU {iou:.3f} < {min_iou}")
    return signs
