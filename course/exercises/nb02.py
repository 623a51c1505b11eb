"""Notebook 02 (the generative process): composing regions into an image, assembling
redrawn regions, each region's mean colour.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import torch

from redo_lite import process

from ..cases import gen, is_tensor, redraw_case, soft_masks
from ..registry import Exercise, Mistake, register


# ---------------------------------------------------------------------------------------------
# 02 · compose and assemble
# ---------------------------------------------------------------------------------------------
def _compose_case():
    """n = 4 regions, so that no region axis has the size of the colour axis (3): an
    expression that sums or broadcasts over the wrong one cannot come out with the right shape."""
    g = gen(4)
    masks = soft_masks(g, n=4)
    layers = (torch.rand(2, 4, 3, 1, 1, generator=g) * 2 - 1) + 0.2 * torch.randn(
        2, 4, 3, 16, 16, generator=g
    )
    return masks, layers


register(
    Exercise(
        name="compose",
        notebook="02_generative_process",
        reference=process.compose,
        inputs=(lambda: _compose_case()[0], lambda: _compose_case()[1]),
        outputs=("image",),
        mistakes=(
            Mistake(
                "the masks' new axis is in the wrong place: each mask must multiply its own "
                "region's layer, so masks B,n,H,W become B,n,1,H,W to line up with the layers "
                "B,n,3,H,W (with as many regions as colours the wrong axis broadcasts silently)",
                lambda m, v: (m[:, None] * v).sum(1),
            ),
            Mistake(
                "summed over the colour channels (axis 2): the regions are axis 1 of the masked "
                "layers B,n,3,H,W",
                lambda m, v: (m[:, :, None] * v).sum(2),
            ),
            Mistake(
                "the regions were averaged instead of summed: the masks already weigh each "
                "pixel (they sum to one), so a mean divides the image by n",
                lambda m, v: (m[:, :, None] * v).mean(1),
            ),
            Mistake(
                "the masks are not used: the image is the masked sum of the layers, "
                "not the plain sum",
                lambda m, v: v.sum(1),
            ),
        ),
    )
)

register(
    Exercise(
        name="assemble",
        notebook="02_generative_process",
        reference=process.assemble,
        inputs=(lambda: redraw_case()[2],),
        outputs=("generated image",),
        mistakes=(
            Mistake(
                "the regions were averaged: each drawn region is already multiplied by its "
                "mask, so the full image is their plain sum",
                lambda d: d.mean(1),
            ),
            Mistake(
                "summed over the batch axis (0): the regions are axis 1 of B,n,3,H,W",
                lambda d: d.sum(0),
            ),
            Mistake(
                "summed over the colour channels (axis 2): the regions are axis 1 of B,n,3,H,W",
                lambda d: d.sum(2),
            ),
            Mistake(
                "the region axis was kept (keepdim=True): the image is B,3,H,W, the sum having "
                "removed the regions",
                test=lambda got, exp: is_tensor(got, 5) and got.shape[1] == 1,
                example=lambda d: d.sum(1, keepdim=True),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# Notebook 02's exercise: each region's mean colour, the V^k that, composed with the masks
# ---------------------------------------------------------------------------------------------
def region_colours(image, masks):
    """The reference: image B,3,H,W and masks B,n,H,W -> B,n,3, the mask-weighted mean colour of
    every region (0 for a region whose mask is empty)."""
    weighted = (masks[:, :, None] * image[:, None]).sum((3, 4))  # B,n,3: Σ_xy M^k I
    area = masks.sum((2, 3))[..., None]  # B,n,1: Σ_xy M^k
    return weighted / area.clamp(min=1e-6)


def _case():
    """Flat-coloured images made of soft regions; region 2 of image 1 is empty."""
    g = gen(11)
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


def _mean_then_area(got, expected) -> bool:
    """A mean over the pixels, then divided by the area: H*W times too small."""
    if not (isinstance(got, torch.Tensor) and got.shape == expected.shape):
        return False
    pixels = 16 * 16  # the check's images
    return torch.allclose(got.nan_to_num(0.0) * pixels, expected, atol=1e-4)


def _mean_divided_by_area(image, masks):
    weighted = (masks[:, :, None] * image[:, None]).mean((3, 4))
    return weighted / masks.sum((2, 3))[..., None].clamp(min=1e-6)


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
                "a mean over the pixels was then divided by the area: the mean already divides "
                "by the image's H*W pixels, so the weighted colours are to be summed over the "
                "pixels, then divided by the region's area",
                test=_mean_then_area,
                example=_mean_divided_by_area,
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
            Mistake(
                "the masks are not used: a region's colour is the mean over its own pixels, each "
                "weighted by its mask, not the mean colour of the whole image",
                lambda img, m: img.mean((2, 3))[:, None].expand(-1, m.shape[1], -1),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 02 · reasoning: masks that ignore the image, and a composition that still fits it
# ---------------------------------------------------------------------------------------------
def ignore_the_image(images, n):
    """The reference: images B,3,H,W -> (masks B,n,H,W, layers B,n,3,H,W) whose composition
    (Eq. 1) is every image exactly, with masks that are the same whatever the images: region 0
    covers everything and its layer is the image itself; the other regions are empty."""
    b, _, h, w = images.shape
    masks = torch.zeros(b, n, h, w)
    masks[:, 0] = 1
    layers = images[:, None].expand(-1, n, -1, -1, -1).clone()
    return masks, layers


def _properties(fn):
    """What the exercise asks of (masks, layers), as yes/no answers: the learner's answer is one
    of many, so the check compares these, not the tensors."""

    def go(images, others, n):
        masks, layers = fn(images, n)
        again, _ = fn(others, n)
        sums = masks.sum(1)
        return {
            "n regions": tuple(masks.shape) == (images.shape[0], n, *images.shape[-2:]),
            "masks in [0, 1]": bool(((masks >= 0) & (masks <= 1)).all()),
            "masks sum to one": bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-5)),
            "composes every image exactly": bool(
                torch.allclose(process.compose(masks, layers), images, atol=1e-5)
            ),
            "masks ignore the image": tuple(again.shape) == tuple(masks.shape)
            and bool(torch.equal(again, masks)),
        }

    return go


def _all_ones(images, n):
    b, _, h, w = images.shape
    return torch.ones(b, n, h, w), images[:, None].expand(-1, n, -1, -1, -1) / n


def _masks_from_brightness(images, n):
    bright = (images.mean(1) > 0).float()
    masks = torch.stack([bright, 1 - bright] + [torch.zeros_like(bright)] * (n - 2), 1)
    return masks, images[:, None].expand(-1, n, -1, -1, -1)


def _flat_layers(images, n):
    masks, _ = ignore_the_image(images, n)
    mean = images.mean((2, 3), keepdim=True)[:, None].expand(-1, n, -1, *images.shape[-2:])
    return masks, mean


register(
    Exercise(
        name="ignore_the_image",
        notebook="02_generative_process",
        reference=ignore_the_image,
        inputs=(
            lambda: redraw_case()[0],
            lambda: torch.rand(2, 3, 16, 16, generator=gen(12)) * 2 - 1,
            lambda: 3,
        ),
        wrap=_properties,
        reasoning=True,
        mistakes=(
            Mistake(
                "the masks do not sum to one: Eq. 1's masks share every pixel out among the "
                "regions (a mask of ones in every region counts each pixel n times, whatever the "
                "layers make up for)",
                _all_ones,
            ),
            Mistake(
                "your masks are computed from the image: the point is that masks that do NOT look "
                "at it fit just as well, so they must come out the same for any batch of images",
                _masks_from_brightness,
            ),
            Mistake(
                "compose(masks, layers) is not the image: with masks that ignore the image, the "
                "masked layers must add up to the image at every pixel (sum_k M^k V^k = I), so "
                "the layers have to carry the image themselves (nothing forces V^k to be flat or "
                "simple)",
                _flat_layers,
            ),
        ),
    )
)
