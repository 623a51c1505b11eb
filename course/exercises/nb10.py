"""Notebook 10 (Flowers on a GPU): the flower masks read from the segmentation images.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import numpy as np
import torch

from ..cases import gen, is_tensor
from ..registry import Exercise, Mistake, register


# ---------------------------------------------------------------------------------------------
# 10 · Flowers' masks
# ---------------------------------------------------------------------------------------------
def _segmentation_image():
    from PIL import Image

    rng = np.random.default_rng(0)
    return Image.fromarray(rng.choice([0, 254, 120], (16, 16, 3)).astype(np.uint8))


def _flower_mask(segmim):
    from data_prep.flowers import flower_mask

    return flower_mask(segmim)


def _background(segmim, rule):
    a = np.asarray(segmim.convert("RGB"))
    r, g, b = a[..., 0] == 0, a[..., 1] == 0, a[..., 2] == 254
    if rule == "blue255":
        return r | g | (a[..., 2] == 255)
    return {"or": r | g | b, "and": r & g & b, "blue": b}[rule]


def _first_axis_channels(segmim):
    a = np.asarray(segmim.convert("RGB"))
    return (~((a[0] == 0) | (a[1] == 0) | (a[2] == 254))).astype(np.uint8)


register(
    Exercise(
        name="flower_mask",
        package="data_prep.flowers.flower_mask",
        notebook="10_flowers_gpu",
        reference=_flower_mask,
        inputs=(_segmentation_image,),
        outputs=("mask",),
        mistakes=(
            Mistake(
                "a bool array: the masks are saved as uint8 images (0 and 1); convert with "
                ".astype(np.uint8)",
                test=lambda got, exp: isinstance(got, np.ndarray) and got.dtype == np.bool_,
                example=lambda s: ~_background(s, "or"),
            ),
            Mistake(
                "flower and background are swapped: 1 marks the flower",
                lambda s: _background(s, "or").astype(np.uint8),
            ),
            Mistake(
                "the three background tests were combined with 'and': a pixel is background "
                "when any one of them holds",
                lambda s: (~_background(s, "and")).astype(np.uint8),
            ),
            Mistake(
                "the blue test compares with 255: the background paint's blue value is 254 in "
                "these files (the equation above), so no pixel matches 255 and the blue "
                "background is counted as flower",
                lambda s: (~_background(s, "blue255")).astype(np.uint8),
            ),
            Mistake(
                "only the blue test (B = 254): the official rule also calls a pixel background "
                "when R = 0 or G = 0",
                lambda s: (~_background(s, "blue")).astype(np.uint8),
            ),
            Mistake(
                "the channels are the LAST axis of the H,W,3 array: indexing its first axis "
                "takes a row of pixels (W,3), not a colour channel; take a[..., c]",
                test=lambda got, exp: getattr(got, "shape", None) == (exp.shape[1], 3),
                example=lambda s: _first_axis_channels(s),
            ),
            Mistake(
                "the values are right but the dtype is not uint8 (1 minus a boolean array, for "
                "instance, is NumPy's default integer): convert with .astype(np.uint8)",
                test=lambda got, exp: (
                    isinstance(got, np.ndarray)
                    and got.dtype not in (np.uint8, np.bool_)
                    and got.shape == exp.shape
                    and bool((got == exp).all())
                ),
                example=lambda s: 1 - _background(s, "or"),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 10 · reasoning: the score of a mask network that has learned nothing
# ---------------------------------------------------------------------------------------------
def trivial_iou(masks):
    """The reference: true flower masks B,H,W (uint8, 1 = flower) -> B, the per-image IoU of a
    mask network that puts every pixel in one region, scored as ReDO is (n = 2, the best
    assignment of its two regions to flower and background). Matching the full region to the
    flower gives |flower| / (H W); matching the empty one gives 0; the best is the flower's
    share."""
    return torch.as_tensor(masks).float().mean((1, 2))


def _flower_masks():
    g = gen(40)
    yy, xx = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    radii = torch.tensor([3.0, 5.0, 7.0, 9.0])
    cy, cx = (torch.rand(2, 4, generator=g) * 6 + 5).unbind(0)
    d2 = (yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2
    discs = d2 <= radii[:, None, None] ** 2
    return discs.numpy().astype(np.uint8)


register(
    Exercise(
        name="trivial_iou",
        notebook="10_flowers_gpu",
        reference=trivial_iou,
        inputs=(_flower_masks,),
        outputs=("IoU per image",),
        reasoning=True,
        mistakes=(
            Mistake(
                "0 is the score without the matching: ReDO's regions carry no names, so the "
                "score matches them to flower and background in the best way, and the region "
                "that covers everything is matched to the flower",
                lambda m: torch.zeros(len(m)),
            ),
            Mistake(
                "that is the background's share: the score is the flower's IoU, and the region "
                "that covers everything overlaps the flower on the flower's pixels only",
                lambda m: 1 - torch.as_tensor(m).float().mean((1, 2)),
            ),
            Mistake(
                "one number for the whole batch: the score is taken per image (a B tensor), then "
                "averaged",
                test=lambda got, exp: is_tensor(got, 0),
                example=lambda m: torch.as_tensor(m).float().mean(),
            ),
            Mistake(
                "1 is the IoU of a region with itself: the region that covers everything has a "
                "union with the flower of the whole image, H W pixels, and shares |flower| of them",
                lambda m: torch.ones(len(m)),
            ),
        ),
    )
)
