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
