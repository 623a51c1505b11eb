"""Notebook 06 (the mask network F): pyramid pooling, and masks from F's logits.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import torch
import torch.nn.functional as F_

from redo_lite import nets

from ..cases import gen, is_tensor, module_wrap, soft_masks, variant
from ..registry import Exercise, Mistake, register

# ---------------------------------------------------------------------------------------------
# 06 · pyramid pooling (a module: the reference's weights are copied into the learner's)
# ---------------------------------------------------------------------------------------------
PPM_BINS, PPM_C = (1, 2, 3, 6), 8


def _ppm_forward(self, x, pool="avg", kernel="window", mode="bilinear", corners=False, keep=True):
    size = x.shape[-1]
    outs = [x] if keep else []
    for b, conv in zip(self.bins, self.convs, strict=True):
        if kernel == "adaptive":
            pooled = F_.adaptive_avg_pool2d(x, b)
        else:
            k = size // b if kernel == "window" else b
            pooled = (F_.avg_pool2d if pool == "avg" else F_.max_pool2d)(x, k, k) if k > 1 else x
        up = dict(align_corners=corners) if mode == "bilinear" else {}
        outs.append(F_.interpolate(conv(pooled), size=x.shape[-2:], mode=mode, **up))
    return torch.cat(outs, 1)


def _ppm_parts(out) -> dict:
    if not is_tensor(out, 4) or out.shape[1] != PPM_C + len(PPM_BINS):
        raise ValueError("not split")
    parts = {"x (passed through)": out[:, :PPM_C]}
    for i, b in enumerate(PPM_BINS):
        parts[f"bin {b}"] = out[:, PPM_C + i : PPM_C + i + 1]
    return parts


register(
    Exercise(
        name="PyramidPooling",
        notebook="06_mask_network",
        reference=nets.PyramidPooling,
        inputs=(lambda: torch.randn(2, PPM_C, 32, 32, generator=gen(9)),),
        wrap=module_wrap(nets.PyramidPooling, lambda cls: cls(PPM_C, PPM_BINS, 0.8)),
        split=_ppm_parts,
        mistakes=(
            Mistake(
                "max pooling: the pyramid averages the features over each window",
                variant(nets.PyramidPooling, _ppm_forward, pool="max"),
            ),
            Mistake(
                "the window was the bin count b; a bin count of b means b windows per side, "
                "each size // b pixels wide",
                variant(nets.PyramidPooling, _ppm_forward, kernel="b"),
            ),
            Mistake(
                "adaptive pooling to b x b cells (PSPNet's usual layer): the official ReDO pools "
                "with fixed windows of size // b (32, 16, 10, 5 at 32 px), which leaves the last "
                "rows out when b does not divide the size, so bins 3 and 6 differ",
                variant(nets.PyramidPooling, _ppm_forward, kernel="adaptive"),
            ),
            Mistake(
                "nearest-neighbour upsampling: the pooled maps are brought back bilinearly",
                variant(nets.PyramidPooling, _ppm_forward, mode="nearest"),
            ),
            Mistake(
                "align_corners=True: the official upsampling uses align_corners=False",
                variant(nets.PyramidPooling, _ppm_forward, corners=True),
            ),
            Mistake(
                "the input features are not in the output: the pooled maps are concatenated "
                "to x, so every pixel keeps its own features next to the context",
                variant(nets.PyramidPooling, _ppm_forward, keep=False),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# Notebook 06's new exercise: F's logits turned into masks that sum to one (Eq. 2, composition
# ---------------------------------------------------------------------------------------------
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
    return lambda: 3 * torch.randn(2, channels, 8, 8, generator=gen(seed))


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
        package="redo_lite.nets.MaskNet",
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
            Mistake(
                "the second mask is not 1 - M^1: with one logit the two masks must sum to one, "
                "so compute the first, sigmoid(l / T), and take what is left (sigmoid(-l) without "
                "T is not it)",
                lambda logits, t: (
                    torch.cat([torch.sigmoid(logits / t), torch.sigmoid(-logits)], 1)
                    if logits.shape[1] == 1
                    else masks_from_logits(logits, t)
                ),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 06 · reasoning: the logits that give F's masks (Eq. 2 run backwards)
# ---------------------------------------------------------------------------------------------
def logits_for(masks, temperature):
    """The reference: masks B,n,H,W (summing to one, none exactly 0 or 1) -> logits that
    masks_from_logits turns back into them at this temperature: one logit for two regions,
    T * log(m / (1 - m)) of the first mask; n logits for n > 2, T * log m (a softmax ignores a
    constant added at a pixel, so any such constant is as right)."""
    if masks.shape[1] == 2:
        return temperature * torch.logit(masks[:, :1])
    return temperature * torch.log(masks)


def _masks_back(fn):
    """The learner's logits are right when they give the masks back, whatever constant a softmax
    would ignore: the check compares the masks they make, and how many logits there are."""

    def go(masks2, masks3, t):
        two, three = fn(masks2, t), fn(masks3, t)
        return {
            "n = 2: logit channels": int(two.shape[1]),
            "n = 2: masks from your logits": masks_from_logits(two, t),
            "n = 3: masks from your logits": masks_from_logits(three, t),
        }

    return go


def _logits_without_t(masks, t):
    return logits_for(masks, 1.0)


def _logits_over_t(masks, t):
    return logits_for(masks, 1.0) / t


def _two_logits(masks, t):
    return t * torch.log(masks)


def _second_region(masks, t):
    if masks.shape[1] == 2:
        return t * torch.logit(masks[:, 1:])
    return logits_for(masks, t)


register(
    Exercise(
        name="logits_for",
        notebook="06_mask_network",
        reference=logits_for,
        inputs=(
            lambda: soft_masks(gen(32), n=2, s=8, sharp=1.0),
            lambda: soft_masks(gen(33), n=3, s=8, sharp=1.0),
            lambda: 2.0,
        ),
        wrap=_masks_back,
        atol=1e-5,
        reasoning=True,
        mistakes=(
            Mistake(
                "the temperature is missing: masks_from_logits divides the logits by T before "
                "the sigmoid or softmax, so the logits must be T times the log-odds (or logs)",
                _logits_without_t,
            ),
            Mistake(
                "the log-odds were divided by T: masks_from_logits divides by T, so undoing it "
                "multiplies",
                _logits_over_t,
            ),
            Mistake(
                "two logits for two regions: F with n = 2 outputs ONE logit, and its two masks are "
                "σ(l/T) and 1 - σ(l/T)",
                _two_logits,
            ),
            Mistake(
                "the logit of the second mask: the one logit gives the FIRST mask, σ(l/T), and "
                "the second is what is left",
                _second_region,
            ),
        ),
    )
)
