r"""The losses of ReDO, each next to the equation it computes.

Hinge loss (SAGAN), for the discriminator D and for the generator side (F, G_k):

.. math::
   \mathcal L_D = \mathbb E_{I}\,[\max(0, 1 - D(I))] + \mathbb E_{\hat I}\,[\max(0, 1 + D(\hat I))]
   \qquad \mathcal L_G = -\,\mathbb E_{\hat I}\,[D(\hat I)]

Information conservation: delta must recover every z_k from the redrawn image, so a region
cannot be empty (an empty region would carry no information about its z):

.. math::  \mathcal L_z = \lambda_z \cdot \mathrm{mean}\big((\delta(\textstyle\sum_k G_k) - z)^2\big)

With the mean over all B*n*z_dim elements and lambda = 5 this is the paper's
:math:`\lambda_z = 5/(n\cdot size_z)` on squared L2 norms.

Mask impurity (not in the paper; off in the paper presets): soft masks can hide a region in mask
*levels* (a faint tint over the background that wins no pixel after argmax). The Gini impurity of
the masks at each pixel, normalised to [0, 1], is zero only for one-hot masks:

.. math::  \mathcal L_M = \lambda_M(t) \cdot \mathrm{mean}_{pixels} \frac{1 - \sum_k (M^k)^2}{1 - 1/n}
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_


def hinge_d(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """D's hinge loss. The two means are taken separately (B reals, B*n fakes weigh the same)."""
    return F_.relu(1 - real_scores).mean() + F_.relu(1 + fake_scores).mean()


def hinge_g(fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator side's hinge loss: make D score the redrawn images high."""
    return -fake_scores.mean()


def z_loss(z_pred: torch.Tensor, z: torch.Tensor, lambda_z: float) -> torch.Tensor:
    """Information-conservation loss: lambda_z * mean((delta(I_gen) - z)^2)."""
    return lambda_z * ((z_pred - z) ** 2).mean()


def mask_impurity(masks: torch.Tensor) -> torch.Tensor:
    """Mean Gini impurity of soft masks B,n,H,W over pixels, scaled so uniform masks score 1."""
    n = masks.shape[1]
    return ((1 - (masks**2).sum(1)) / (1 - 1 / n)).mean()


def ramp(step: int, start: int, full: int) -> float:
    """0 before ``start``, rising linearly to 1 at ``full`` (a weight switched on gently)."""
    if step < start:
        return 0.0
    return 1.0 if full <= start else min(1.0, (step - start) / (full - start))
