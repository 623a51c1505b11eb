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
            Mistake(
                "squared errors averaged over z's entries, then summed over the regions: that "
                "multiplies the loss by n (the mean runs over the regions too)",
                lambda p, z, lam: lam * ((p - z) ** 2).mean(-1).sum(1).mean(),
            ),
            Mistake(
                "the norm of each error, not its square: Eq. 7 squares the distance between "
                "the predicted code and the true one",
                lambda p, z, lam: lam * (p - z).norm(dim=-1).mean(),
            ),
            Mistake(
                "lambda_z was applied twice (the loss is lambda_z times the mean, once)",
                lambda p, z, lam: lam * lam * ((p - z) ** 2).mean(),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 05 · reasoning: the chance line of delta's loss
# ---------------------------------------------------------------------------------------------
def chance_z_loss(lambda_z, n, z_dim):
    """The reference: the loss z_loss of a delta that has learned nothing, with codes drawn from
    N(0, I). Its best guess is the same for every image, the mean of z, 0; each entry's expected
    squared error is then the variance of z, 1, and the mean of B * n * z_dim such errors is 1,
    whatever n and z_dim: the loss is lambda_z."""
    return float(lambda_z)


register(
    Exercise(
        name="chance_z_loss",
        notebook="05_information_conservation",
        reference=chance_z_loss,
        inputs=(lambda: 5.0, lambda: 2, lambda: 16),
        outputs=("chance line of L_z",),
        reasoning=True,
        mistakes=(
            Mistake(
                "that is the error of a delta guessing a fresh random code: its guess adds its "
                "own variance (1) to z's, E[(z' - z)^2] = 2; a delta that knows nothing does "
                "better by guessing the mean of z every time",
                lambda lam, n, d: 2.0 * lam,
            ),
            Mistake(
                "a delta that knows nothing is not perfect: a loss of 0 means every code is read "
                "back exactly; guessing the mean of z leaves an error of z's variance per entry",
                lambda lam, n, d: 0.0,
            ),
            Mistake(
                "the chance line was multiplied by the code size: z_loss takes one mean over "
                "every entry, so each entry's expected error, 1, is also the mean's",
                lambda lam, n, d: float(lam * d),
            ),
            Mistake(
                "the chance line was multiplied by n * z_dim: that is the paper's summed form "
                "(squared norms over all regions); z_loss is the mean over every entry",
                lambda lam, n, d: float(lam * n * d),
            ),
            Mistake(
                "lambda_z was divided by n * z_dim: that is the paper's weight for the summed "
                "form; with the mean form of z_loss, the weight lambda_z multiplies an error of 1",
                lambda lam, n, d: float(lam / (n * d)),
            ),
            Mistake(
                "lambda_z is missing: the chance line of the loss is lambda_z times the chance "
                "line of the mean squared error (1)",
                lambda lam, n, d: 1.0,
            ),
        ),
    )
)
