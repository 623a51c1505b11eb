"""Notebook 01's painting exercise: one colored-2-MNIST image and its label map, digits painted in
order so that the later one covers the earlier one (occlusion), in the image and in the labels."""

from __future__ import annotations

import numpy as np

from .checks import Exercise, Mistake
from .exercises import register


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
