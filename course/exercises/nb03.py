"""Notebook 03 (redrawing): one region redrawn, and every region redrawn in turn.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

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
