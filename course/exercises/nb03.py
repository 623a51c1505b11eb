"""Notebook 03 (redrawing): one region redrawn, and every region redrawn in turn.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import torch
import torch.nn.functional as F_

from redo_lite import process

from ..cases import is_tensor, redraw_case
from ..registry import Exercise, Mistake, register

# ---------------------------------------------------------------------------------------------
# 03 · redraw_region and redraw_all
# ---------------------------------------------------------------------------------------------
_TWICE = (
    "the mask is applied twice: G_k's output is already multiplied by its mask, so the "
    "drawn pixels go in as they are"
)
_INSIDE = (
    "the input was kept inside the region instead of outside it: the redrawn image keeps "
    "the input where the mask is 0"
)

register(
    Exercise(
        name="redraw_region",
        notebook="03_redrawing",
        reference=process.redraw_region,
        inputs=(
            lambda: redraw_case()[0],
            lambda: redraw_case()[1][:, 1:2],
            lambda: redraw_case()[2][:, 1],
        ),
        outputs=("redrawn image",),
        mistakes=(
            Mistake(_TWICE, lambda x, m, d: m * d + (1 - m) * x),
            Mistake(_INSIDE, lambda x, m, d: d + m * x),
            Mistake(
                "the drawn pixels are missing: the region's new pixels are added to the input "
                "kept outside it",
                lambda x, m, d: (1 - m) * x,
            ),
        ),
    )
)

register(
    Exercise(
        name="redraw_all",
        notebook="03_redrawing",
        reference=process.redraw_all,
        inputs=(lambda: redraw_case()[0], lambda: redraw_case()[1], lambda: redraw_case()[2]),
        outputs=("redrawn images",),
        mistakes=(
            Mistake(_TWICE, lambda x, m, d: m[:, :, None] * d + (1 - m[:, :, None]) * x[:, None]),
            Mistake(_INSIDE, lambda x, m, d: d + m[:, :, None] * x[:, None]),
            Mistake(
                "one image came out per input, not one per region: redraw_all keeps the n "
                "composites apart (B,n,3,H,W), each redrawing a single region",
                test=lambda got, exp: is_tensor(got, 4) and got.shape[1] == 3,
                example=lambda x, m, d: (d + (1 - m[:, :, None]) * x[:, None]).sum(1),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 03 · reasoning: which redraws pass the "at most three colours" test, from the masks alone
# ---------------------------------------------------------------------------------------------
def passes_colour_count(truth, repainted):
    """The reference: truth B,3,H,W (the true masks of a colored-2-MNIST image, one-hot) and
    repainted B,H,W (1 where a flat redraw paints one new colour, 0 where it keeps the image)
    -> B bools: will the redraw show at most three distinct colours? The kept part shows the old
    colour of every true region that keeps a pixel; the repainted part adds one colour if it is
    not empty."""
    kept = (truth * (1 - repainted[:, None])).sum((2, 3)) > 0  # B,3: regions left showing
    new = repainted.sum((1, 2)) > 0  # B: a new colour painted
    return kept.sum(1) + new.long() <= 3


def colour_count_case():
    """Six 8x8 images (background, an even digit 1, an odd digit 2) and six repainted parts:
    exactly the even digit; a box across both digits; the even digit plus a rim; nothing; the
    whole image; the even digit but one pixel."""
    labels = torch.zeros(6, 8, 8, dtype=torch.long)
    labels[:, 1:5, 1:3] = 1
    labels[:, 4:7, 5:7] = 2
    truth = F_.one_hot(labels, 3).permute(0, 3, 1, 2).float()
    even = (labels == 1).float()
    part = torch.zeros(6, 8, 8)
    part[0] = even[0]
    part[1, 3:6, 2:6] = 1
    part[2] = even[2]
    part[2, 0:6, 0:4] = 1
    part[4] = 1
    part[5] = even[5]
    part[5, 1, 1] = 0
    return truth, part


def _new_colour_forgotten(truth, repainted):
    kept = (truth * (1 - repainted[:, None])).sum((2, 3)) > 0
    return kept.sum(1) <= 3


def _touched_regions(truth, repainted):
    touched = (truth * repainted[:, None]).sum((2, 3)) > 0
    return touched.sum(1) <= 1


def _always_a_new_colour(truth, repainted):
    kept = (truth * (1 - repainted[:, None])).sum((2, 3)) > 0
    return kept.sum(1) + 1 <= 3


register(
    Exercise(
        name="passes_colour_count",
        notebook="03_redrawing",
        reference=passes_colour_count,
        inputs=(lambda: colour_count_case()[0], lambda: colour_count_case()[1]),
        outputs=("passes the colour count",),
        reasoning=True,
        mistakes=(
            Mistake(
                "the repainted part's own colour was not counted: a redraw shows the old colours "
                "of the regions it keeps plus the one new colour it paints",
                _new_colour_forgotten,
            ),
            Mistake(
                "you counted the regions the repainted part touches; what the colour count sees "
                "is which regions keep at least one pixel outside it (a part that covers a whole "
                "digit and some background touches two regions, yet only two old colours remain)",
                _touched_regions,
            ),
            Mistake(
                "an empty repainted part adds no colour: redrawing nothing leaves the real image, "
                "with its three colours",
                _always_a_new_colour,
            ),
            Mistake(
                "not a bool per image: the answer is one yes/no per redraw (B bools)",
                test=lambda got, exp: is_tensor(got) and got.dtype != torch.bool,
                example=lambda t, r: passes_colour_count(t, r).float(),
            ),
        ),
    )
)
