"""Notebook 01 (the data): drawing the three colours of a colored-2-MNIST image,
and painting digits in order.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import itertools

import numpy as np

from ..registry import Exercise, Mistake, register


# ---------------------------------------------------------------------------------------------
# 01 · random_colours
# ---------------------------------------------------------------------------------------------
def _random_colours(rng):
    from data_prep.c2mnist import random_colours

    return random_colours(rng)


_COLOUR_DRAWS = {  # kind: (low, high, tied channel, the channel it takes its value from)
    "background": (0.33, 0.66, 0, 1),
    "even": (0.0, 0.33, 1, 2),
    "odd": (0.66, 1.0, 0, 2),
}


def _colours_in_order(rng, order):
    drawn = {}
    for kind in order:
        low, high, tied, source = _COLOUR_DRAWS[kind]
        drawn[kind] = rng.uniform(low, high, 3)
        drawn[kind][tied] = drawn[kind][source]
    return drawn["background"], drawn["even"], drawn["odd"]


def _colours_odd_first(rng):
    return _colours_in_order(rng, ("odd", "background", "even"))


def _drawn_in_another_order(got, expected) -> bool:
    """The three colours equal the data set's rule drawn in one of the five other orders."""
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return False
    for order in itertools.permutations(_COLOUR_DRAWS):
        if order == tuple(_COLOUR_DRAWS):
            continue
        wrong = _colours_in_order(np.random.default_rng(0), order)  # the check's input
        if all(
            np.allclose(np.asarray(g, float), w, atol=1e-6) for g, w in zip(got, wrong, strict=True)
        ):
            return True
    return False


def _colours_copied_back(rng):
    bg = rng.uniform(0.33, 0.66, 3)
    bg[1] = bg[0]
    even = rng.uniform(0.0, 0.33, 3)
    even[2] = even[1]
    odd = rng.uniform(0.66, 1.0, 3)
    odd[2] = odd[0]
    return bg, even, odd


def _colours_ranges_swapped(rng):
    bg = rng.uniform(0.33, 0.66, 3)
    bg[0] = bg[1]
    even = rng.uniform(0.66, 1.0, 3)
    even[1] = even[2]
    odd = rng.uniform(0.0, 0.33, 3)
    odd[0] = odd[2]
    return bg, even, odd


def _colours_grey(rng):
    bg = np.full(3, rng.uniform(0.33, 0.66))
    even = np.full(3, rng.uniform(0.0, 0.33))
    odd = np.full(3, rng.uniform(0.66, 1.0))
    return bg, even, odd


def _grey(got, expected) -> bool:
    return isinstance(got, (tuple, list)) and any(
        np.ndim(c) == 0 or np.allclose(np.asarray(c), np.asarray(c).flat[0]) for c in got
    )


register(
    Exercise(
        name="random_colours",
        notebook="01_data",
        reference=_random_colours,
        inputs=(lambda: np.random.default_rng(0),),
        outputs=("background", "even digits", "odd digits"),
        mistakes=(
            Mistake(
                "the colours were drawn in another order: the generator hands out its numbers in "
                "sequence, so background, even, odd must be drawn in that order to match the "
                "data set",
                test=_drawn_in_another_order,
                example=_colours_odd_first,
            ),
            Mistake(
                "a channel was copied the wrong way round: `R := G` overwrites red with green "
                "(the left-hand side is the channel that changes)",
                _colours_copied_back,
            ),
            Mistake(
                "the even and odd ranges are swapped: even digits are the dark ones (0 to 0.33), "
                "odd digits the bright ones (0.66 to 1)",
                _colours_ranges_swapped,
            ),
            Mistake(
                "a colour is grey (one number for all three channels): draw three values per "
                "colour, then copy just one channel",
                test=_grey,
                example=_colours_grey,
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# Notebook 01's painting exercise: one colored-2-MNIST image and its label map, digits painted in
# ---------------------------------------------------------------------------------------------
def paint_digits(background, digits, size):
    """The reference: ``background`` 3 floats, ``digits`` a list of (mask size×size bool, colour 3
    floats, label) in painting order -> (image size×size×3 float32, label map size×size uint8)."""
    image = np.empty((size, size, 3), np.float32)
    image[:] = background
    labels = np.zeros((size, size), np.uint8)
    for mask, colour, label in digits:
        image[mask] = colour
        labels[mask] = label
    return image, labels


SIZE = 16


def _case():
    """A background and two digits that overlap (an "L" painted first, a "7" over it)."""
    rng = np.random.default_rng(3)
    even, odd = np.zeros((SIZE, SIZE), bool), np.zeros((SIZE, SIZE), bool)
    even[2:12, 3:6] = True
    even[9:12, 3:11] = True
    odd[5:15, 8:10] = True
    odd[5:7, 6:13] = True
    background = rng.uniform(0.33, 0.66, 3)
    return background, [(odd, rng.uniform(0.66, 1, 3), 2), (even, rng.uniform(0, 0.33, 3), 1)]


def _labels_added(background, digits, size):
    image, labels = paint_digits(background, digits, size)
    labels = np.zeros((size, size), np.uint8)
    for mask, _, label in digits:
        labels[mask] += label
    return image, labels


def _first_wins(background, digits, size):
    return paint_digits(background, digits[::-1], size)


def _labels_int64(background, digits, size):
    image, labels = paint_digits(background, digits, size)
    return image, labels.astype(np.int64)


def _no_background(background, digits, size):
    image, labels = paint_digits(np.zeros(3), digits, size)
    return image, labels


register(
    Exercise(
        name="paint_digits",
        notebook="01_data",
        reference=paint_digits,
        inputs=(lambda: _case()[0], lambda: _case()[1], lambda: SIZE),
        outputs=("image", "label map"),
        mistakes=(
            Mistake(
                "labels were added where the digits overlap (1 + 2 = 3 is no region): a pixel "
                "belongs to one region only, the digit painted last",
                _labels_added,
            ),
            Mistake(
                "the first digit painted wins where the digits overlap: painting in order means "
                "the later digit covers the earlier one, in the image and in the label map alike",
                _first_wins,
            ),
            Mistake(
                "the label map is not uint8: label maps are stored as 8-bit images, and every "
                "mask of the course is uint8",
                test=lambda got, exp: (
                    isinstance(got, tuple)
                    and len(got) == 2
                    and isinstance(got[1], np.ndarray)
                    and got[1].dtype != np.uint8
                ),
                example=_labels_int64,
            ),
            Mistake(
                "the background was not painted: every pixel starts with the background colour, "
                "and the digits are painted over it",
                _no_background,
            ),
        ),
    )
)
