"""Notebook 11 (where ReDO stands): the supervised loss, and IEM's objective.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F_

from beyond import iem

from ..cases import gen
from ..registry import Exercise, Mistake, register


# ---------------------------------------------------------------------------------------------
# 11 · the supervised loss
# ---------------------------------------------------------------------------------------------
def supervised_case():
    """(masks B,3,H,W summing to one, labels B,H,W); on the first row of image 0 F is certain and
    wrong: the true label's probability is exactly 0 there."""
    g = gen(3)
    masks = torch.softmax(2 * torch.randn(2, 3, 8, 8, generator=g), 1)
    labels = torch.randint(0, 3, (2, 8, 8), generator=g)
    masks[0, :, 0] = F_.one_hot((labels[0, 0] + 1) % 3, 3).T.float()
    return masks, labels


def _supervised_loss(masks, labels):
    # the loss beyond.supervised trains F with
    return F_.nll_loss(torch.log(masks.clamp(min=1e-6)), labels)


register(
    Exercise(
        name="supervised_loss",
        package="beyond.supervised.train_supervised",
        notebook="11_where_redo_stands",
        reference=_supervised_loss,
        inputs=(lambda: supervised_case()[0], lambda: supervised_case()[1]),
        outputs=("loss",),
        mistakes=(
            Mistake(
                "cross_entropy on the masks: F_.cross_entropy expects logits and applies a "
                "softmax of its own, but F's masks are already probabilities",
                lambda m, y: F_.cross_entropy(m, y),
            ),
            Mistake(
                "no log: nll_loss on the masks averages minus the probabilities themselves; "
                "it expects log-probabilities",
                lambda m, y: F_.nll_loss(m, y),
            ),
            Mistake(
                "log(0) = -inf where F gives a pixel's true label probability 0: clamp the "
                "masks away from zero before the log",
                lambda m, y: F_.nll_loss(torch.log(m), y),
            ),
            Mistake(
                "a sum over pixels instead of the mean: the loss then grows with the image size",
                lambda m, y: F_.nll_loss(torch.log(m.clamp(min=1e-6)), y, reduction="sum"),
            ),
            Mistake(
                "-log M averaged over every region: only the probability of each pixel's true "
                "label counts",
                lambda m, y: -torch.log(m.clamp(min=1e-6)).mean(),
            ),
            Mistake(
                "the sign is flipped: the loss is MINUS the mean log-probability of the true "
                "labels (a log-probability is negative, the loss positive), or training would "
                "push the true labels' probabilities down",
                lambda m, y: -_supervised_loss(m, y),
            ),
            Mistake(
                "divided by B·n·H·W, the size of the masks: the mean runs over images and pixels "
                "only (B·H·W), one picked log-probability per pixel, not over the n regions",
                lambda m, y: _supervised_loss(m, y) / m.shape[1],
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# Notebook 11's new exercise: IEM's objective, the inpainting error of every region predicted from
# ---------------------------------------------------------------------------------------------
def iem_case(b: int = 3, s: int = 16):
    """(image B,3,S,S in [0,1]: a textured background with two flat discs; one-hot masks B,3,S,S
    of a label map that half-covers them, as IEM's label maps look mid-way; in the last image
    region 2 is empty, as IEM's regions can become)."""
    g = torch.Generator().manual_seed(11)
    x = (
        0.5
        + 0.3 * (torch.rand(b, 3, 1, 1, generator=g) - 0.5)
        + 0.3 * (torch.rand(b, 3, s, s, generator=g) - 0.5)
    )
    yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    labels = torch.zeros(b, s, s, dtype=torch.long)
    for k, cx in ((1, 0.3 * s), (2, 0.7 * s)):
        disc = (yy - 0.5 * s) ** 2 + (xx - cx) ** 2 <= (0.2 * s) ** 2
        x[:, :, disc] = torch.rand(b, 3, 1, generator=g)
        labels[:, (yy - 0.45 * s).abs() + (xx - cx).abs() <= 0.25 * s] = k  # a diamond, a bit off
    labels[-1][labels[-1] == 2] = 0  # an empty region: its area is 0
    return x, F_.one_hot(labels, 3).permute(0, 3, 1, 2).float()


def _from_itself(x, masks, sigma):
    err = (x[:, None] - iem.inpaint(x, masks, sigma)).abs().mean(2)
    return ((masks * err).sum((2, 3)) / masks.sum((2, 3)).clamp(min=1)).sum(1)


def _over_image(x, masks, sigma):
    err = (x[:, None] - iem.inpaint(x, 1 - masks, sigma)).abs().mean(2)
    return (masks * err).mean((2, 3)).sum(1)


def _everywhere(x, masks, sigma):
    err = (x[:, None] - iem.inpaint(x, 1 - masks, sigma)).abs().mean(2)
    return (err.sum((2, 3)) / masks.sum((2, 3)).clamp(min=1)).sum(1)


def _no_clamp(x, masks, sigma):
    err = (x[:, None] - iem.inpaint(x, 1 - masks, sigma)).abs().mean(2)
    return ((masks * err).sum((2, 3)) / masks.sum((2, 3))).sum(1)


def _not_divided(x, masks, sigma):
    err = (x[:, None] - iem.inpaint(x, 1 - masks, sigma)).abs().mean(2)
    return (masks * err).sum((2, 3)).sum(1)


def _regions_averaged(x, masks, sigma):
    return iem.inpainting_error(x, masks, sigma) / masks.shape[1]


def _channels_summed(x, masks, sigma):
    err = (x[:, None] - iem.inpaint(x, 1 - masks, sigma)).abs().sum(2)
    return ((masks * err).sum((2, 3)) / masks.sum((2, 3)).clamp(min=1)).sum(1)


register(
    Exercise(
        name="inpainting_error",
        notebook="11_where_redo_stands",
        reference=iem.inpainting_error,
        inputs=(lambda: iem_case()[0], lambda: iem_case()[1], lambda: 1.5),
        outputs=("error",),
        atol=1e-5,
        mistakes=(
            Mistake(
                "each region is inpainted from its own pixels: the inpainter must see only the "
                "pixels outside the region, or every region predicts itself well",
                _from_itself,
            ),
            Mistake(
                "the error is divided by the image's pixel count, not by the region's area: "
                "each region then weighs as much as it is large, and the background dominates",
                _over_image,
            ),
            Mistake(
                "the error is counted over the whole image, not only inside the region: the "
                "pixels a region does not own are not its error",
                _everywhere,
            ),
            Mistake(
                "the error is summed over the colour channels: the paper takes their mean",
                _channels_summed,
            ),
            Mistake(
                "NaN: an empty region (area 0) divides 0 by 0; count its area as at least one "
                "pixel (clamp the area from below), so that an empty region adds 0",
                _no_clamp,
            ),
            Mistake(
                "the error is a sum over the region's pixels, not a mean: divide each region's "
                "summed error by the region's area (its mask summed over the pixels), so that a "
                "large region does not count more than a small one",
                _not_divided,
            ),
            Mistake(
                "the regions' errors are averaged: the objective sums them over the n regions",
                _regions_averaged,
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 11 · reasoning: the supervised loss of an F that knows nothing, and of one sure and wrong
# ---------------------------------------------------------------------------------------------
CLAMP = 1e-6  # supervised_loss clamps the masks to at least this before the log


def supervised_loss_bounds(n):
    """The reference: for n regions, (the supervised loss of an F whose masks are 1/n everywhere,
    the loss of an F certain and wrong at every pixel). The loss is minus the mean log of the
    true label's probability: -log(1/n) = log n for the uniform F; for the wrong one that
    probability is 0, clamped to 1e-6, so -log(1e-6), about 13.8, whatever n."""
    return math.log(n), -math.log(CLAMP)


register(
    Exercise(
        name="supervised_loss_bounds",
        notebook="11_where_redo_stands",
        reference=supervised_loss_bounds,
        inputs=(lambda: 3,),
        outputs=("uniform masks", "certain and wrong"),
        reasoning=True,
        mistakes=(
            Mistake(
                "the uniform F's loss is not 1/n: the loss is minus the LOG of the true label's "
                "probability, -log(1/n) = log n",
                lambda n: (1 / n, -math.log(CLAMP)),
            ),
            Mistake(
                "a loss is not negative here: it is MINUS the mean log-probability, and a "
                "log-probability is at most 0",
                lambda n: (-math.log(n), math.log(CLAMP)),
            ),
            Mistake(
                "the certain-and-wrong F's loss is not infinite: supervised_loss clamps the masks "
                "to 1e-6 before the log, so it is -log(1e-6)",
                lambda n: (math.log(n), math.inf),
            ),
            Mistake(
                "a base-2 (or base-10) log: nll_loss and torch.log use the natural log",
                lambda n: (math.log2(n), -math.log2(CLAMP)),
            ),
            Mistake(
                "the certain-and-wrong F's loss does not depend on n: only the true label's "
                "probability counts, and it is the clamped 0 whatever the number of regions",
                lambda n: (math.log(n), -math.log(CLAMP) * n),
            ),
        ),
    )
)
