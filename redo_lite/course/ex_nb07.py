"""Notebook 07's new exercise: one residual up-block of a region generator G_k (``nets.GenBlock``),
checked with the reference's weights copied into the learner's block. The conditional-norm
exercise of the same notebook is registered in ``exercises.py``."""

from __future__ import annotations

import torch
import torch.nn.functional as F_

from .. import nets
from .checks import Exercise, Mistake
from .exercises import _gen, _variant, module_wrap, register, soft_masks

CIN, COUT, ZDIM = 8, 4, 4


def _block_forward(
    self,
    x,
    m,
    z,
    pool="avg",
    mask_after_up=False,
    shortcut=True,
    relu_first=False,
    mask_first=False,
):
    """GenBlock.forward with one thing changed (the default is the reference)."""

    def act_norm(norm, h):
        return norm(F_.relu(h), z) if relu_first else F_.relu(norm(h, z))

    h = act_norm(self.n1, x)
    if mask_after_up:
        h = nets.upsample(h)
        h = self.c1(torch.cat([h, F_.adaptive_avg_pool2d(m, h.shape[-2:])], 1))
    else:
        if pool == "avg":
            mk = F_.adaptive_avg_pool2d(m, x.shape[-2:])
        else:
            mk = F_.interpolate(m, size=x.shape[-2:], mode="nearest")
        h = self.c1(nets.upsample(torch.cat([mk, h] if mask_first else [h, mk], 1)))
    h = self.c2(act_norm(self.n2, h))
    return h + self.skip(nets.upsample(x)) if shortcut else h


def _mask():
    """A full-size (32 px) soft mask with thin parts, B,1,32,32, as F gives G_k at 32 px."""
    return soft_masks(_gen(21), b=2, n=2, s=32, sharp=4.0)[:, :1]


register(
    Exercise(
        name="GenBlock",
        notebook="07_region_generators",
        reference=nets.GenBlock,
        inputs=(
            lambda: torch.randn(2, CIN, 8, 8, generator=_gen(20)),
            _mask,
            lambda: torch.randn(2, ZDIM, 1, 1, generator=_gen(22)),
        ),
        outputs=("block output",),
        wrap=module_wrap(nets.GenBlock, lambda cls: cls(CIN, COUT, ZDIM, 0.8)),
        atol=1e-5,
        mistakes=(
            Mistake(
                "the mask was subsampled (one pixel per cell) instead of averaged: a cell of the "
                "block's grid should hold the share of its pixels inside the region, so that a "
                "thin stroke is not lost between samples",
                _variant(nets.GenBlock, _block_forward, pool="nearest"),
            ),
            Mistake(
                "the mask was concatenated after the upsample, at the output's size: in this "
                "block it joins the features at the input's size, before they are upsampled",
                _variant(nets.GenBlock, _block_forward, mask_after_up=True),
            ),
            Mistake(
                "the shortcut is missing: a residual block adds the upsampled input, passed "
                "through its 1x1 conv, to what the two 3x3 convs computed",
                _variant(nets.GenBlock, _block_forward, shortcut=False),
            ),
            Mistake(
                "ReLU before the conditional norm: the block normalises and styles the "
                "features with z first, then applies the ReLU (pre-activation, as BigGAN)",
                _variant(nets.GenBlock, _block_forward, relu_first=True),
            ),
            Mistake(
                "the mask was concatenated first, before the features: c1's weights read the "
                "C_in feature channels first and the mask as the last channel (features, then "
                "mask), so the first conv mixed the wrong channels",
                _variant(nets.GenBlock, _block_forward, mask_first=True),
            ),
        ),
    )
)
