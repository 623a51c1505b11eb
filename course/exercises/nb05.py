"""Notebook 05 (information conservation): delta's loss on z.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import torch

from redo_lite.losses import z_loss

from ..cases import gen
from ..registry import Exercise, Mistake, register

# ---------------------------------------------------------------------------------------------
# 05 · information conservation
# ---------------------------------------------------------------------------------------------
register(
    Exercise(
        name="z_loss",
        notebook="05_information_conservation",
        reference=z_loss,
        inputs=(
            lambda: torch.randn(4, 2, 16, generator=gen(7)),
            lambda: torch.randn(4, 2, 16, generator=gen(8)),
            lambda: 5.0,
        ),
        outputs=("loss_z",),
        mistakes=(
            Mistake(
                "a sum instead of the mean: the mean runs over all B * n * z_dim entries, so "
                "the weight does not change with the batch size",
                lambda p, z, lam: lam * ((p - z) ** 2).sum(),
            ),
            Mistake(
                "lambda_z is missing: the loss is weighted by it",
                lambda p, z, lam: ((p - z) ** 2).mean(),
            ),
            Mistake(
                "absolute errors (L1) instead of squared ones",
                lambda p, z, lam: lam * (p - z).abs().mean(),
            ),
            Mistake(
                "squared errors summed over z's entries, then averaged: that multiplies the "
                "loss by z_dim (the paper's lambda_z = 5/(n * size_z) on squared norms is the "
                "mean over every entry)",
                lambda p, z, lam: lam * ((p - z) ** 2).sum(-1).mean(),
            ),
            Mistake(
                "squared errors summed over the regions and z's entries, then averaged over the "
                "batch: that multiplies the loss by n * z_dim (the paper's squared norms for "
                "every region); the official form is one mean over every entry",
                lambda p, z, lam: lam * ((p - z) ** 2).sum((1, 2)).mean(),
            ),
        ),
    )
)
