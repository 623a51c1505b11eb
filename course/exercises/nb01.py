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


def _colours_in_thirds(rng):
    """The ranges written as exact thirds (1/3, 2/3) instead of the data set's 0.33 and 0.66."""
    bg = rng.uniform(1 / 3, 2 / 3, 3)
    bg[0] = bg[1]
    even = rng.uniform(0.0, 1 / 3, 3)
    even[1] = even[2]
    odd = rng.uniform(2 / 3, 1.0, 3)
    odd[0] = odd[2]
    return bg, even, odd


_TIES = ((0, 1), (1, 2), (0, 2))  # background R = G, even G = B, odd R = B


def _tied_pairs(colour) -> set:
    c = np.asarray(colour, float).reshape(-1)
    if c.shape != (3,):
        return set()
    return {pair for pair in _TIES if c[pair[0]] == c[pair[1]]}


def _wrong_channels_tied(got, expected) -> bool:
    """Every colour has two equal channels, but not the pair the data set ties."""
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        return False
    pairs = [_tied_pairs(c) for c in got]
    return all(len(p) == 1 for p in pairs) and any(
        p != {tie} for p, tie in zip(pairs, _TIES, strict=True)
    )


def _colours_tied_wrongly(rng):
    bg = rng.uniform(0.33, 0.66, 3)
    bg[2] = bg[1]  # G = B: the even digit's tie, given to the background
    even = rng.uniform(0.0, 0.33, 3)
    even[1] = even[2]
    odd = rng.uniform(0.66, 1.0, 3)
    odd[0] = odd[2]
    return bg, even, odd


def _grey(got, expected) -> bool:
    return isinstance(got, (tuple, list)) and any(
        np.ndim(c) == 0 or np.allclose(np.asarray(c), np.asarray(c).flat[0]) for c in got
    )


register(
    Exercise(
        name="random_colours",
        package="data_prep.c2mnist.random_colours",
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
            Mistake(
                "the ranges are exact thirds (1/3 and 2/3): the data set draws from 0 to 0.33, "
                "0.33 to 0.66 and 0.66 to 1, as the official code writes them, so every colour "
                "comes out slightly off (by at most 0.004, the gap between 1/3 and 0.33)",
                _colours_in_thirds,
            ),
            Mistake(
                "the wrong two channels are tied: the background has R = G, the even digits "
                "G = B, the odd digits R = B (each colour copies one channel into another, and "
                "which pair is part of its distribution)",
                test=_wrong_channels_tied,
                example=_colours_tied_wrongly,
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


# ---------------------------------------------------------------------------------------------
# 01 · reasoning: which region a pixel belongs to, from its colour alone
# ---------------------------------------------------------------------------------------------
def label_from_colour(image):
    """The reference: image H,W,3 in [0, 1] (a colored-2-MNIST image) -> its label map H,W uint8
    (0 background, 1 even digit, 2 odd digit), read off the colours alone. Every channel of an
    even digit is below 0.33, of an odd digit above 0.66, of the background in between, so any one
    channel decides."""
    red = image[..., 0]
    labels = np.zeros(red.shape, np.uint8)
    labels[red < 0.33] = 1
    labels[red > 0.66] = 2
    return labels


def _colour_case():
    """A colored-2-MNIST image painted with the data set's own colour rule (two digits that
    overlap, as in paint_digits' case)."""
    background, digits = _case()
    bg, even, odd = _random_colours(np.random.default_rng(5))
    (odd_mask, _, _), (even_mask, _, _) = digits
    return paint_digits(bg, [(odd_mask, odd, 2), (even_mask, even, 1)], SIZE)[0]


def _dark_is_odd(image):
    labels = label_from_colour(image)
    return np.select([labels == 1, labels == 2], [2, 1], 0).astype(np.uint8)


def _one_cut(image):
    """Bright against dark: one threshold, two groups."""
    return (image.mean(-1) > 0.5).astype(np.uint8)


def _background_only_by_tie(image):
    """The tied channels read as the rule (R = G for the background) but both digits called 1."""
    labels = label_from_colour(image)
    return np.where(labels > 0, 1, 0).astype(np.uint8)


register(
    Exercise(
        name="label_from_colour",
        notebook="01_data",
        reference=label_from_colour,
        inputs=(_colour_case,),
        outputs=("label map",),
        reasoning=True,
        mistakes=(
            Mistake(
                "even and odd are swapped: the even digit's colours are the dark ones (every "
                "channel below 0.33), the odd digit's the bright ones (above 0.66)",
                _dark_is_odd,
            ),
            Mistake(
                "one threshold makes two groups (bright and dark), but there are three regions: "
                "the background's range lies between the two digits', so it takes two cuts, one at "
                "each end of the background's range",
                _one_cut,
            ),
            Mistake(
                "both digits got label 1: the label map tells the even digit (1) from the odd one "
                "(2), and their colour ranges do not overlap, so colour tells them apart too",
                _background_only_by_tie,
            ),
            Mistake(
                "the label map is not uint8: label maps are stored as 8-bit images",
                test=lambda got, exp: (
                    isinstance(got, np.ndarray)
                    and got.dtype != np.uint8
                    and got.shape == exp.shape
                    and bool((got == exp).all())
                ),
                example=lambda image: label_from_colour(image).astype(np.int64),
            ),
        ),
    )
)
