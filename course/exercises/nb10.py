"""Notebook 10 (Flowers on a GPU): the flower masks read from the segmentation images.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import numpy as np

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
