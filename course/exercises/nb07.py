"""Notebook 07 (the region generators): conditional instance norm and one up-block of G_k.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import torch
import torch.nn.functional as F_

from redo_lite import nets

from ..cases import gen, module_wrap, soft_masks, variant
from ..registry import Exercise, Mistake, register


# ---------------------------------------------------------------------------------------------
# 07 · conditional instance norm
# ---------------------------------------------------------------------------------------------
def _cin_forward(
    self,
    x,
    z,
    plus_one=False,
    norm=True,
    swap=False,
    batch=False,
    unbiased=False,
    layer=False,
    eps_added=False,
):
    if batch:
        h = F_.batch_norm(x, None, None, training=True)
    elif eps_added:  # epsilon after the division (added to sd instead: within the tolerance)
        mean, var = x.mean((2, 3), keepdim=True), x.var((2, 3), keepdim=True, unbiased=False)
        h = (x - mean) / torch.sqrt(var) + 1e-5
    elif unbiased or layer:
        dims = (1, 2, 3) if layer else (2, 3)
        mean, var = x.mean(dims, keepdim=True), x.var(dims, keepdim=True, unbiased=unbiased)
        h = (x - mean) / torch.sqrt(var + 1e-5)
    else:
        h = self.norm(x) if norm else x
    gamma, beta = (self.beta(z), self.gamma(z)) if swap else (self.gamma(z), self.beta(z))
    return h * (1 + gamma if plus_one else gamma) + beta


register(
    Exercise(
        name="CondInstanceNorm",
        notebook="07_region_generators",
        reference=nets.CondInstanceNorm,
        inputs=(
            lambda: torch.randn(2, 8, 16, 16, generator=gen(10)) * 3 + 1,
            lambda: torch.randn(2, 4, 1, 1, generator=gen(11)),
        ),
        wrap=module_wrap(nets.CondInstanceNorm, lambda cls: cls(8, 4, 0.8)),
        mistakes=(
            Mistake(
                "gamma(z) + 1: a common convention (BigGAN), but this model, like the official "
                "code, scales by gamma(z) itself",
                variant(nets.CondInstanceNorm, _cin_forward, plus_one=True),
            ),
            Mistake(
                "x is not normalised: instance norm first takes each channel of each image to "
                "zero mean and unit variance, then z sets the scale and the shift",
                variant(nets.CondInstanceNorm, _cin_forward, norm=False),
            ),
            Mistake(
                "gamma and beta are swapped: gamma(z) scales, beta(z) shifts",
                variant(nets.CondInstanceNorm, _cin_forward, swap=True),
            ),
            Mistake(
                "batch statistics: instance norm normalises each image's channels on their own, "
                "so a region's style does not depend on the other images in the batch",
                variant(nets.CondInstanceNorm, _cin_forward, batch=True),
            ),
            Mistake(
                "the variance with Bessel's correction (torch's default, unbiased=True): "
                "instance norm divides by the H*W pixels themselves",
                variant(nets.CondInstanceNorm, _cin_forward, unbiased=True),
            ),
            Mistake(
                "the statistics were taken over the channels too (that is layer norm): instance "
                "norm gives each channel of each image its own mean and spread",
                variant(nets.CondInstanceNorm, _cin_forward, layer=True),
            ),
            Mistake(
                "epsilon was added after the division, to the normalised features: it belongs "
                "inside the square root, (x - mean) / sqrt(var + eps), where it keeps a flat "
                "channel from a division by zero",
                variant(nets.CondInstanceNorm, _cin_forward, eps_added=True),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# Notebook 07's new exercise: one residual up-block of a region generator G_k (``nets.GenBlock``),
# ---------------------------------------------------------------------------------------------
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
    return soft_masks(gen(21), b=2, n=2, s=32, sharp=4.0)[:, :1]


register(
    Exercise(
        name="GenBlock",
        notebook="07_region_generators",
        reference=nets.GenBlock,
        inputs=(
            lambda: torch.randn(2, CIN, 8, 8, generator=gen(20)),
            _mask,
            lambda: torch.randn(2, ZDIM, 1, 1, generator=gen(22)),
        ),
        outputs=("block output",),
        wrap=module_wrap(nets.GenBlock, lambda cls: cls(CIN, COUT, ZDIM, 0.8)),
        atol=1e-5,
        mistakes=(
            Mistake(
                "the mask was subsampled (one pixel per cell) instead of averaged: a cell of the "
                "block's grid should hold the share of its pixels inside the region, so that a "
                "thin stroke is not lost between samples",
                variant(nets.GenBlock, _block_forward, pool="nearest"),
            ),
            Mistake(
                "the mask was concatenated after the upsample, at the output's size: in this "
                "block it joins the features at the input's size, before they are upsampled",
                variant(nets.GenBlock, _block_forward, mask_after_up=True),
            ),
            Mistake(
                "the shortcut is missing: a residual block adds the upsampled input, passed "
                "through its 1x1 conv, to what the two 3x3 convs computed",
                variant(nets.GenBlock, _block_forward, shortcut=False),
            ),
            Mistake(
                "ReLU before the conditional norm: the block normalises and styles the "
                "features with z first, then applies the ReLU (pre-activation, as BigGAN)",
                variant(nets.GenBlock, _block_forward, relu_first=True),
            ),
            Mistake(
                "the mask was concatenated first, before the features: c1's weights read the "
                "C_in feature channels first and the mask as the last channel (features, then "
                "mask), so the first conv mixed the wrong channels",
                variant(nets.GenBlock, _block_forward, mask_first=True),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 07 · reasoning: the style z gives a region, predicted without running the norm
# ---------------------------------------------------------------------------------------------
def predicted_style(norm, z):
    """The reference: a conditional instance norm ``norm`` (its ``gamma`` and ``beta`` layers)
    and codes z B,z_dim,1,1 -> (mean B,C, spread B,C) of every output channel of norm(x, z), for
    ANY input x whose channels are not flat: instance norm takes each channel to mean 0 and spread
    1, so the output's mean is beta(z) and its spread |gamma(z)| (a negative scale flips the
    channel, it does not shrink it). Nothing of x's own mean or spread is left."""
    return norm.beta(z).flatten(1), norm.gamma(z).abs().flatten(1)


def _style_case():
    torch.manual_seed(3)
    return nets.CondInstanceNorm(8, 4, 0.8)


def _signed_spread(norm, z):
    return norm.beta(z).flatten(1), norm.gamma(z).flatten(1)


def _swapped_style(norm, z):
    return norm.gamma(z).flatten(1), norm.beta(z).abs().flatten(1)


def _no_style(norm, z):
    b = norm.beta(z).flatten(1)
    return torch.zeros_like(b), torch.ones_like(b)


def _plus_one(norm, z):
    return norm.beta(z).flatten(1), (1 + norm.gamma(z)).abs().flatten(1)


register(
    Exercise(
        name="predicted_style",
        notebook="07_region_generators",
        reference=predicted_style,
        inputs=(_style_case, lambda: torch.randn(3, 4, 1, 1, generator=gen(23))),
        outputs=("mean of each output channel", "spread of each output channel"),
        atol=1e-5,
        reasoning=True,
        mistakes=(
            Mistake(
                "a spread cannot be negative: where gamma(z) < 0 the channel is flipped and "
                "scaled by |gamma(z)|",
                _signed_spread,
            ),
            Mistake(
                "gamma and beta are swapped: gamma(z) scales the normalised channel (its spread), "
                "beta(z) shifts it (its mean)",
                _swapped_style,
            ),
            Mistake(
                "mean 0 and spread 1 is the normalised channel BEFORE z's scale and shift: the "
                "output is IN(x) * gamma(z) + beta(z)",
                _no_style,
            ),
            Mistake(
                "1 + gamma(z): this model scales by gamma(z) itself (no '+1', as the official "
                "code)",
                _plus_one,
            ),
        ),
    )
)
