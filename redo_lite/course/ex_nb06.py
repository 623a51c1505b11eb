"""Notebook 06's new exercise: F's logits turned into masks that sum to one (Eq. 2, composition
step). The pyramid-pooling exercise of the same notebook is registered in ``exercises.py``."""

from __future__ import annotations

import torch

from .checks import Exercise, Mistake
from .exercises import _gen, register


def masks_from_logits(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """B,L,H,W logits -> B,n,H,W masks that sum to one at every pixel, as ``nets.MaskNet`` makes
    them: one logit (L = 1) gives two regions (σ(l/T), 1 - σ(l/T)); L = n > 1 logits give a
    softmax over the regions axis."""
    scaled = logits / temperature
    if scaled.shape[1] == 1:
        m = torch.sigmoid(scaled)
        return torch.cat([m, 1 - m], 1)
    return torch.softmax(scaled, 1)


def _logits(channels: int, seed: int):
    return lambda: 3 * torch.randn(2, channels, 8, 8, generator=_gen(seed))


def _both(fn):
    """Run the learner's function on both cases: one logit (n = 2) and three (n = 3)."""
    return lambda one, three, t: {
        "n = 2 (one logit)": fn(one, t),
        "n = 3 (three logits)": fn(three, t),
    }


def _sigmoid_each(logits, t):
    if logits.shape[1] == 1:
        return masks_from_logits(logits, t)
    return torch.sigmoid(logits / t)


def _object_second(logits, t):
    if logits.shape[1] == 1:
        m = torch.sigmoid(logits / t)
        return torch.cat([1 - m, m], 1)
    return masks_from_logits(logits, t)


register(
    Exercise(
        name="masks_from_logits",
        notebook="06_mask_network",
        reference=masks_from_logits,
        inputs=(_logits(1, 30), _logits(3, 31), lambda: 2.0),
        wrap=_both,
        atol=1e-6,
        mistakes=(
            Mistake(
                "a softmax over a single channel is 1 everywhere: with one logit, the two masks "
                "are the sigmoid and one minus it",
                lambda logits, t: torch.softmax(logits / t, 1),
            ),
            Mistake(
                "the softmax ran over the last axis (the image's width), the habit from "
                "classification: the regions are axis 1 of B,n,H,W",
                lambda logits, t: (
                    masks_from_logits(logits, t)
                    if logits.shape[1] == 1
                    else torch.softmax(logits / t, -1)
                ),
            ),
            Mistake(
                "a sigmoid on each of the n logits: the masks then do not sum to one at a pixel; "
                "the softmax makes the regions share every pixel",
                _sigmoid_each,
            ),
            Mistake(
                "the logits were multiplied by the temperature: a temperature T divides them "
                "(T > 1 makes the masks softer)",
                lambda logits, t: masks_from_logits(logits * t * t, t),
            ),
            Mistake(
                "the temperature is not used: the logits are divided by T before the softmax "
                "or the sigmoid",
                lambda logits, t: masks_from_logits(logits, 1.0),
            ),
            Mistake(
                "the two masks are in the other order: the first channel is σ(l/T), the second "
                "what is left, 1 - σ(l/T)",
                _object_second,
            ),
        ),
    )
)
