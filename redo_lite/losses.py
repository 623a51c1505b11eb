r"""The losses of ReDO, each under the equation it computes.

Paper: Chen, Artières, Denoyer, "Unsupervised Object Segmentation by Redrawing", NeurIPS 2019,
https://arxiv.org/abs/1905.13539, §3.3. Equation numbers: docs/equations.md.

The adversarial game uses the hinge loss of SAGAN (Eq. 4), written here as losses to *minimise*:

    L_D = E_I[ max(0, 1 - D(I)) ] + E_Î[ max(0, 1 + D(Î)) ]   (D: reals above +1, fakes below -1)
    L_G = - E_Î[ D(Î) ]                                       (F and the G_k: fakes scored high)

Information conservation (Eq. 7, second term): δ must recover every z_k from the redrawn image, so
no region can be empty (an empty region carries no information about its z):

    L_z = λ_z · mean( (δ(Σ_k G_k(M^k, z_k)) - z)² )

The mean runs over all B·n·size_z numbers, so λ_z = 5 here is the paper's 5/(n·size_z) on squared
L2 norms (official code, ``train.py``: ``wrecZ · ((z - netZ(hGen.sum(1)))**2).mean()``).

Not in the paper: a floor on each region's share of the pixels (``area_floor_loss``), which the
Trainer adds to F's gradient when a run sets ``area_floor`` (``redo_lite/train.py``,
``AreaFloor``) so that a region cannot park as a faint tint that wins no pixel; off in every
preset (measured in docs/log/c2mnist.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_


def hinge_d_real(real_scores: torch.Tensor) -> torch.Tensor:
    """D's hinge loss on real images: E_I[max(0, 1 - D(I))] (Eq. 4)."""
    return F_.relu(1 - real_scores).mean()


def hinge_d_fake(fake_scores: torch.Tensor) -> torch.Tensor:
    """D's hinge loss on redrawn images: E_Î[max(0, 1 + D(Î))] (Eq. 4)."""
    return F_.relu(1 + fake_scores).mean()


def hinge_d(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """D's hinge loss, Eq. 4. The two means are taken separately, so the B reals and the B·n
    redrawn images weigh the same (official code)."""
    # L_D = E_I[max(0, 1 - D(I))] + E_Î[max(0, 1 + D(Î))]
    return hinge_d_real(real_scores) + hinge_d_fake(fake_scores)


def hinge_g(fake_scores: torch.Tensor) -> torch.Tensor:
    """The generator side's hinge loss, Eq. 4: make D score the redrawn images high."""
    # L_G = -E_Î[D(Î)]
    return -fake_scores.mean()


def z_loss(z_pred: torch.Tensor, z: torch.Tensor, lambda_z: float) -> torch.Tensor:
    """Information conservation, Eq. 7 (second term), in the official code's mean convention."""
    # L_z = λ_z · mean((δ(Σ_k G_k) - z)²)
    return lambda_z * ((z_pred - z) ** 2).mean()


# How sharply ``area_floor_loss`` counts the pixels a region wins: masks raised to this power and
# renormalised (a softmax of the logits times 10), close to argmax yet differentiable.
AREA_SHARPNESS = 10.0


def sharpened(masks: torch.Tensor) -> torch.Tensor:
    """softmax(AREA_SHARPNESS · log M) over the regions (dim 1), in float32: near one-hot."""
    return torch.softmax(AREA_SHARPNESS * masks.float().clamp_min(1e-8).log(), dim=1)


def area_floor_loss(masks: torch.Tensor, floor: float, weight: float) -> torch.Tensor:
    """Not in the paper: a hinge on each region's share of the batch's pixels, counted on sharpened
    masks so that a faint tint over the whole image counts as the nothing it wins after argmax.
    masks: B,n,H,W (softmax over n). Zero while every region holds at least ``floor``."""
    # won_k = mean over pixels of softmax(AREA_SHARPNESS · log M)_k   (≈ the share argmax gives k)
    won = sharpened(masks).mean((0, 2, 3))
    # L_area = w · Σ_k max(0, floor - won_k)
    return weight * F_.relu(floor - won).sum()
