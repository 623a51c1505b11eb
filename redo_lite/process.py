r"""The generative process of ReDO: compose, redraw one region, assemble.

An image is a sum of regions, :math:`I = \sum_k M^k \odot V^k`, where the masks
:math:`M^k` sum to one at every pixel. ReDO keeps the input's pixels in every region but one and
replaces region i with what its generator draws:

.. math::  \hat I_i = G_i(M^i, z_i) + (1 - M^i) \odot I,  \qquad G_i(M^i, z_i) = \tanh(\cdot)\odot M^i

(the generator already multiplies by its mask, so the mask is applied once). If F's regions do
not follow real objects, the redrawn image looks wrong and the discriminator notices.
"""

from __future__ import annotations

import torch


def compose(masks: torch.Tensor, layers: torch.Tensor) -> torch.Tensor:
    r""":math:`I = \sum_k M^k \odot V^k`. masks: B,n,H,W (sum to 1); layers: B,n,3,H,W."""
    return (masks[:, :, None] * layers).sum(1)


def redraw_region(image: torch.Tensor, mask_i: torch.Tensor, drawn_i: torch.Tensor) -> torch.Tensor:
    r""":math:`\hat I_i = G_i(M^i,z_i) + (1 - M^i)\odot I` for one region.
    image: B,3,H,W; mask_i: B,1,H,W; drawn_i: B,3,H,W (already multiplied by mask_i)."""
    return drawn_i + (1 - mask_i) * image


def redraw_all(image: torch.Tensor, masks: torch.Tensor, drawn: torch.Tensor) -> torch.Tensor:
    r"""Every region redrawn in turn, each composite keeping the input elsewhere:
    B,3,H,W + B,n,H,W + B,n,3,H,W -> B,n,3,H,W (the official code redraws all n each step)."""
    return drawn + (1 - masks[:, :, None]) * image[:, None]


def assemble(drawn: torch.Tensor) -> torch.Tensor:
    r"""The fully generated image :math:`\sum_k G_k(M^k, z_k)` that delta reads (no real pixels)."""
    return drawn.sum(1)


def sample_z(
    batch: int, regions: int, z_dim: int, generator: torch.Generator | None = None, device=None
) -> torch.Tensor:
    r""":math:`z_k \sim \mathcal N(0, I)`, one per region: B,n,z_dim."""
    return torch.randn(batch, regions, z_dim, generator=generator, device=device)
