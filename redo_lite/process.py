r"""The generative process of ReDO: compose, redraw one region, assemble.

Paper: Chen, Artières, Denoyer, "Unsupervised Object Segmentation by Redrawing", NeurIPS 2019,
https://arxiv.org/abs/1905.13539, §3.2-3.3. Equation numbers: docs/equations.md.

An image is a sum of regions whose masks sum to one at every pixel (Eq. 1):

    I = Σ_k M^k ⊙ V^k

ReDO keeps the input's pixels in every region but one and replaces region i with what its
generator draws (Eq. 5, with V^k = I for k ≠ i and V^i = G_i(M^i, z_i)):

    Î_i = G_i(M^i, z_i) + (1 - M^i) ⊙ I,        G_i(M^i, z_i) = tanh(·) ⊙ M^i

(the generator already multiplies by its mask, so the mask is applied once: official code,
``train.py``, ``hGen + (1 - mEnc) * xData``). If F's regions do not follow real objects, the
redrawn image looks wrong and the discriminator notices.
"""

from __future__ import annotations

import torch


def compose(masks: torch.Tensor, layers: torch.Tensor) -> torch.Tensor:
    """The composition of Eq. 1. masks: B,n,H,W (summing to 1); layers: B,n,3,H,W."""
    # Eq. 1: I = Σ_k M^k ⊙ V^k
    return (masks[:, :, None] * layers).sum(1)


def redraw_region(image: torch.Tensor, mask_i: torch.Tensor, drawn_i: torch.Tensor) -> torch.Tensor:
    """Region i redrawn, every other pixel kept (Eq. 5). image: B,3,H,W; mask_i: B,1,H,W;
    drawn_i: B,3,H,W, already multiplied by mask_i."""
    # Eq. 5: Î_i = G_i(M^i, z_i) + (1 - M^i) ⊙ I
    return drawn_i + (1 - mask_i) * image


def redraw_all(image: torch.Tensor, masks: torch.Tensor, drawn: torch.Tensor) -> torch.Tensor:
    """Every region redrawn in turn, each composite keeping the input elsewhere:
    B,3,H,W + B,n,H,W + B,n,3,H,W -> B,n,3,H,W. The official code redraws all n regions at each
    step instead of sampling one region i ~ U(n) as Algorithm 1 does."""
    # Eq. 5 for every i at once: Î_k = G_k(M^k, z_k) + (1 - M^k) ⊙ I
    return drawn + (1 - masks[:, :, None]) * image[:, None]


def assemble(drawn: torch.Tensor) -> torch.Tensor:
    """The fully generated image that δ reads (official code: ``hGen.sum(1)``), no real pixel."""
    # Eq. 2 with every region generated: Σ_k G_k(M^k, z_k)
    return drawn.sum(1)


def sample_z(
    batch: int, regions: int, z_dim: int, generator: torch.Generator | None = None, device=None
) -> torch.Tensor:
    """One noise vector per region, z_k ~ N(0, I): B,n,z_dim (Algorithm 1, line 4)."""
    return torch.randn(batch, regions, z_dim, generator=generator, device=device)
