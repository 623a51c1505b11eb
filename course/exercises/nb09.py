"""Notebook 09 (evaluation): per-image IoU under the best permutation.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import itertools

import torch

from redo_lite import metrics

from ..cases import gen, is_tensor
from ..registry import Exercise, Mistake, register


# ---------------------------------------------------------------------------------------------
# 09 · per-image IoU under the best permutation
# ---------------------------------------------------------------------------------------------
def iou_case(b: int = 6, s: int = 8, n: int = 3):
    """(pred, gt) B,S,S label maps: gt has two rectangles (labels 1, 2), pred is gt with its
    labels permuted differently in every image and 15% of pixels flipped; the last image has
    no label 2 at all (its region's union is empty under the best permutation)."""
    g = gen(2)
    gt = torch.zeros(b, s, s, dtype=torch.long)
    for i in range(b):
        for label in (1, 2):
            if i == b - 1 and label == 2:
                continue
            h, w = torch.randint(2, 5, (2,), generator=g).tolist()
            y, x = torch.randint(0, s - 3, (2,), generator=g).tolist()
            gt[i, y : y + h, x : x + w] = label
    pred = torch.stack([torch.randperm(n, generator=g)[t] for t in gt])
    flip = torch.rand(b, s, s, generator=g) < 0.15
    flip[-1] = False
    return torch.where(flip, torch.randint(0, n, (b, s, s), generator=g), pred), gt


def _per_image_iou(pred, gt, n):
    return torch.tensor(metrics.score(pred, gt, n)["per_image_iou"])


def _iou_tables(pred, gt, n):
    return metrics.permutation_tables(pred, gt, n)[2]  # B, P, n (NaN: empty union)


def _iou_one_permutation(pred, gt, n):
    obj = _iou_tables(pred, gt, n)[:, :, 1:].nanmean(2)
    best = torch.nan_to_num(obj, nan=0.0).mean(0).argmax()
    return obj[:, best].float()


def _iou_with_background(pred, gt, n):
    return _iou_tables(pred, gt, n).nanmean(2).nan_to_num(-1).max(1).values.float()


def _iou_identity(pred, gt, n):
    identity = list(itertools.permutations(range(n))).index(tuple(range(n)))
    return _iou_tables(pred, gt, n)[:, identity, 1:].nanmean(1).float()


def _iou_empty_as_zero(pred, gt, n):
    return _iou_tables(pred, gt, n)[:, :, 1:].nan_to_num(0.0).mean(2).max(1).values.float()


def _iou_areas_swapped(pred, gt, n):
    """The table's axes read the wrong way round: F's areas summed over F's own axis."""
    inter = metrics.overlap_counts(pred, gt, n)
    area_pred, area_true = inter.sum(1), inter.sum(2)
    scores = []
    for p in itertools.permutations(range(n)):
        both = torch.stack([inter[:, p[g], g] for g in range(1, n)], 1)
        union = torch.stack([area_pred[:, p[g]] + area_true[:, g] for g in range(1, n)], 1) - both
        scores.append((both / union).nanmean(1))
    return torch.stack(scores, 1).nan_to_num(-1).max(1).values.float()


def _iou_with_areas(pred, gt, n, union_of):
    """The best mean object IoU per image, with the union computed by ``union_of(inter, area_pred,
    area_true)`` (for the mistakes that get the union wrong)."""
    inter = metrics.overlap_counts(pred, gt, n)
    area_pred, area_true = inter.sum(2), inter.sum(1)
    scores = []
    for p in itertools.permutations(range(n)):
        both = torch.stack([inter[:, p[g], g] for g in range(1, n)], 1)
        union = torch.stack(
            [union_of(inter[:, p[g], g], area_pred[:, p[g]], area_true[:, g]) for g in range(1, n)],
            1,
        )
        scores.append((both / union).nanmean(1))
    return torch.stack(scores, 1).nan_to_num(-1).max(1).values.float()


register(
    Exercise(
        name="per_image_iou",
        package="redo_lite.metrics.score",
        notebook="09_evaluation",
        reference=_per_image_iou,
        inputs=(lambda: iou_case()[0], lambda: iou_case()[1], lambda: 3),
        outputs=("IoU per image",),
        reasoning=True,
        mistakes=(
            Mistake(
                "one permutation for the whole set: here every image picks its own best "
                "assignment of predicted regions to true ones (the official code's convention)",
                _iou_one_permutation,
            ),
            Mistake(
                "the background's IoU is in the mean: the score averages the object regions "
                "1..n-1 only",
                _iou_with_background,
            ),
            Mistake(
                "no permutation search: predicted region k is not true region k (F is never "
                "told which region is which); take the best over all permutations",
                _iou_identity,
            ),
            Mistake(
                "a region absent from both prediction and truth counted as IoU 0: its union is "
                "empty, so it is left out of that image's mean",
                _iou_empty_as_zero,
            ),
            Mistake(
                "the union is the two areas added: the pixels they share are counted twice, so "
                "even a perfect match scores 0.5",
                lambda p, g, n: _iou_with_areas(p, g, n, lambda i, a, t: a + t),
            ),
            Mistake(
                "the overlap is divided by the true region's area alone: that is recall, which a "
                "predicted region covering the whole image maximises",
                lambda p, g, n: _iou_with_areas(p, g, n, lambda i, a, t: t),
            ),
            Mistake(
                "one number for the whole batch: per_image_iou returns one best score per image "
                "(a B tensor)",
                test=lambda got, exp: is_tensor(got, 0),
                example=lambda p, g, n: _per_image_iou(p, g, n).nanmean(),
            ),
            Mistake(
                "the areas are read along the wrong axes of the table: in inter[b, k, g] the rows "
                "(axis 1) are F's regions and the columns (axis 2) the truth's, so F's region k "
                "covers the sum of its row and true region g the sum of its column",
                _iou_areas_swapped,
            ),
            Mistake(
                "NaN: a region absent from both prediction and truth has an empty union, 0/0 is "
                "NaN, and a plain mean (then the max) passes it on; average the objects with a "
                "mean that skips NaN, which leaves that region out of the image's mean",
                lambda p, g, n: _iou_tables(p, g, n)[:, :, 1:].mean(2).max(1).values.float(),
            ),
        ),
    )
)
