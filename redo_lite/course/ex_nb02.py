"""Notebook 02's exercise: each region's mean colour, the V^k that, composed with the masks
(Eq. 1), gives a flat-coloured image back."""

from __future__ import annotations

import torch

from .checks import Exercise, Mistake
from .exercises import _gen, register, soft_masks


def region_colours(image, masks):
    """The reference: image B,3,H,W and masks B,n,H,W -> B,n,3, the mask-weighted mean colour of
    every region (0 for a region whose mask is empty)."""
    weighted = (masks[:, :, None] * image[:, None]).sum((3, 4))  # B,n,3: Σ_xy M^k I
    area = masks.sum((2, 3))[..., None]  # B,n,1: Σ_xy M^k
    return weighted / area.clamp(min=1e-6)


def _case():
    """Flat-coloured images made of soft regions; region 2 of image 1 is empty."""
    g = _gen(11)
    masks = soft_masks(g, b=2, n=3, s=16)
    masks[1, 0] += masks[1, 2]
    masks[1, 2] = 0
    colours = torch.rand(2, 3, 3, 1, 1, generator=g) * 2 - 1
    image = (masks[:, :, None] * colours).sum(1)
    return image, masks


def _mean_over_image(image, masks):
    return (masks[:, :, None] * image[:, None]).mean((3, 4))


def _no_guard(image, masks):
    return (masks[:, :, None] * image[:, None]).sum((3, 4)) / masks.sum((2, 3))[..., None]


def _unweighted(image, masks):
    hard = (masks == masks.max(1, keepdim=True).values).float()
    return region_colours(image, hard)


def _has_nan(got, expected) -> bool:
    return isinstance(got, torch.Tensor) and bool(torch.isnan(got).any())


register(
    Exercise(
        name="region_colours",
        notebook="02_generative_process",
        reference=region_colours,
        inputs=(lambda: _case()[0], lambda: _case()[1]),
        outputs=("mean colours",),
        atol=1e-4,
        mistakes=(
            Mistake(
                "divided by the number of pixels of the whole image: a mean over region k "
                "divides by the region's own area, the sum of its mask",
                _mean_over_image,
            ),
            Mistake(
                "an empty region gave 0/0 = NaN: guard the division (a region with no pixel "
                "has no colour; 0 is the course's convention)",
                test=_has_nan,
                example=_no_guard,
            ),
            Mistake(
                "each pixel was given wholly to its most likely region: with soft masks every "
                "pixel counts in every region, weighted by its mask value",
                _unweighted,
            ),
        ),
    )
)
