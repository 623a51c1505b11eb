r"""The course's exercises: for each one, the reference it is checked against, its seeded inputs,
the names of its outputs, its tolerance, and its typical mistakes with a one-sentence diagnosis.

A notebook checks an exercise in one line::

    check_exercise("hinge_d", hinge_d)

Inputs are built from their own seeded generators, and shaped like what the course feeds the code
(soft masks that look like regions, flat-coloured images, label maps with objects), so a failing
image output is worth looking at and the mistakes give outputs that differ from the reference.
To add an exercise, see docs/authoring.md.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F_

from .. import metrics, nets, process
from ..losses import hinge_d, hinge_g, z_loss
from .checks import Exercise, Mistake, ParametersDiffer

EXERCISES: dict[str, Exercise] = {}


def register(ex: Exercise) -> Exercise:
    if ex.name in EXERCISES:
        raise ValueError(f"exercise {ex.name!r} is registered twice")
    EXERCISES[ex.name] = ex
    return ex


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _is_tensor(x, dim: int | None = None) -> bool:
    return isinstance(x, torch.Tensor) and (dim is None or x.dim() == dim)


# ---------------------------------------------------------------------------------------------
# Seeded inputs that look like the course's data
# ---------------------------------------------------------------------------------------------
def soft_masks(g: torch.Generator, b: int = 2, n: int = 3, s: int = 16, sharp: float = 3.0):
    """B,n,S,S masks that sum to one: smooth blobs with soft edges (like F's output early on)."""
    logits = torch.randn(b, n, max(s // 4, 1), max(s // 4, 1), generator=g)
    logits = F_.interpolate(logits, size=(s, s), mode="bilinear", align_corners=False)
    return torch.softmax(sharp * logits, 1)


def redraw_case(b: int = 2, n: int = 3, s: int = 16):
    """(image B,3,S,S in [-1,1] made of flat-coloured regions; masks B,n,S,S; drawn B,n,3,S,S =
    new colours times each mask, as G_k returns them)."""
    g = _gen(1)
    masks = soft_masks(g, b, n, s)
    colours = torch.rand(b, n, 3, 1, 1, generator=g) * 2 - 1
    image = process.compose(masks, colours.expand(-1, -1, -1, s, s))
    new = torch.tanh(
        torch.rand(b, n, 3, 1, 1, generator=g) * 2
        - 1
        + 0.3 * torch.randn(b, n, 3, s, s, generator=g)
    )
    return image, masks, new * masks[:, :, None]


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
# 02 · compose and assemble
# ---------------------------------------------------------------------------------------------
def _compose_case():
    """n = 4 regions, so that no region axis has the size of the colour axis (3): an
    expression that sums or broadcasts over the wrong one cannot come out with the right shape."""
    g = _gen(4)
    masks = soft_masks(g, n=4)
    layers = (torch.rand(2, 4, 3, 1, 1, generator=g) * 2 - 1) + 0.2 * torch.randn(
        2, 4, 3, 16, 16, generator=g
    )
    return masks, layers


register(
    Exercise(
        name="compose",
        notebook="02_generative_process",
        reference=process.compose,
        inputs=(lambda: _compose_case()[0], lambda: _compose_case()[1]),
        outputs=("image",),
        mistakes=(
            Mistake(
                "the masks' new axis is in the wrong place: each mask must multiply its own "
                "region's layer, so masks B,n,H,W become B,n,1,H,W to line up with the layers "
                "B,n,3,H,W (with as many regions as colours the wrong axis broadcasts silently)",
                lambda m, v: (m[:, None] * v).sum(1),
            ),
            Mistake(
                "summed over the colour channels (axis 2): the regions are axis 1 of the masked "
                "layers B,n,3,H,W",
                lambda m, v: (m[:, :, None] * v).sum(2),
            ),
            Mistake(
                "the regions were averaged instead of summed: the masks already weigh each "
                "pixel (they sum to one), so a mean divides the image by n",
                lambda m, v: (m[:, :, None] * v).mean(1),
            ),
            Mistake(
                "the masks are not used: the image is the masked sum of the layers, "
                "not the plain sum",
                lambda m, v: v.sum(1),
            ),
        ),
    )
)

register(
    Exercise(
        name="assemble",
        notebook="02_generative_process",
        reference=process.assemble,
        inputs=(lambda: redraw_case()[2],),
        outputs=("generated image",),
        mistakes=(
            Mistake(
                "the regions were averaged: each drawn region is already multiplied by its "
                "mask, so the full image is their plain sum",
                lambda d: d.mean(1),
            ),
            Mistake(
                "summed over the batch axis (0): the regions are axis 1 of B,n,3,H,W",
                lambda d: d.sum(0),
            ),
            Mistake(
                "summed over the colour channels (axis 2): the regions are axis 1 of B,n,3,H,W",
                lambda d: d.sum(2),
            ),
        ),
    )
)


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
                test=lambda got, exp: _is_tensor(got, 4) and got.shape[1] == 3,
                example=lambda x, m, d: (d + (1 - m[:, :, None]) * x[:, None]).sum(1),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 04 · hinge losses and power iteration
# ---------------------------------------------------------------------------------------------
def _scores(n: int, seed: int):
    return lambda: torch.randn(n, generator=_gen(seed)) * 2


register(
    Exercise(
        name="hinge_d",
        notebook="04_hinge_and_discriminator",
        reference=hinge_d,
        inputs=(_scores(5, 5), _scores(15, 6)),
        outputs=("loss_d",),
        mistakes=(
            Mistake(
                "one mean over reals and fakes together: with 5 reals and 15 fakes the fakes "
                "then weigh three times as much; take each expectation on its own and add them",
                lambda r, f: torch.cat([F_.relu(1 - r), F_.relu(1 + f)]).mean(),
            ),
            Mistake(
                "the signs are swapped: D is pushed to score real images high (above 1) and "
                "redrawn ones low (below -1)",
                lambda r, f: F_.relu(1 + r).mean() + F_.relu(1 - f).mean(),
            ),
            Mistake(
                "the redrawn images' term has the wrong sign: D must push their scores below "
                "-1, so their hinge is max(0, 1 + D(redrawn)), a mirror of the real images' one",
                lambda r, f: F_.relu(1 - r).mean() + F_.relu(1 - f).mean(),
            ),
            Mistake(
                "the two terms were averaged: Eq. 4 adds the two expectations (halving the loss "
                "halves D's gradients)",
                lambda r, f: (F_.relu(1 - r).mean() + F_.relu(1 + f).mean()) / 2,
            ),
            Mistake(
                "no hinge: without max(0, .) a score that is already past the margin keeps "
                "being pushed (that is the Wasserstein loss, not the hinge)",
                lambda r, f: (1 - r).mean() + (1 + f).mean(),
            ),
            Mistake(
                "sums instead of means: the loss then grows with the batch size",
                lambda r, f: F_.relu(1 - r).sum() + F_.relu(1 + f).sum(),
            ),
        ),
    )
)

register(
    Exercise(
        name="hinge_g",
        notebook="04_hinge_and_discriminator",
        reference=hinge_g,
        inputs=(_scores(15, 6),),
        outputs=("loss_g",),
        mistakes=(
            Mistake(
                "the sign is wrong: minimising the mean score makes the redrawn images look "
                "*less* real to D",
                lambda f: f.mean(),
            ),
            Mistake(
                "a hinge on the generator side: in the hinge GAN (SAGAN) only D's loss has the "
                "margin; the generators minimise minus the raw score",
                lambda f: F_.relu(1 - f).mean(),
            ),
        ),
    )
)


def _power(W, iters=50, normalise=True):
    u = torch.ones(W.shape[0]) / W.shape[0] ** 0.5
    for _ in range(iters):
        v = W.T @ u
        v = v / v.norm() if normalise else v
        u = W @ v
        u = u / u.norm() if normalise else u
    return u, v


def _power_iteration(W, iters=50):
    """The reference: the notebook's recipe, u from (1, ..., 1)/sqrt(rows), v first."""
    u, v = _power(W, iters)
    return u @ (W @ v)


POWER_STEPS = (1, 3, 50)


def _at_steps(fn):
    """The estimate after 1, 3 and 50 steps: a few steps test the recipe itself (start, order),
    50 steps that it converges to sigma."""
    return lambda W: tuple(fn(W, t) for t in POWER_STEPS)


def _last(got):
    return got[-1] if isinstance(got, tuple) and got else got


def _power_squared(W, iters=50):
    _, v = _power(W, iters)
    return v @ W.T @ W @ v


def _power_unnormalised(W, iters=50):
    u, v = _power(W, iters, normalise=False)
    return u @ W @ v


def _is_sigma_squared(got, expected) -> bool:
    got, sq = _last(got), float(_last(expected)) ** 2
    return _is_tensor(got) and got.numel() == 1 and abs(float(got) - sq) < 1e-2 * sq


def _is_far_off(got, expected) -> bool:
    got = _last(got)
    if not _is_tensor(got) or got.numel() != 1:
        return False
    v, e = abs(float(got)), float(_last(expected))
    return not np.isfinite(v) or v > 10 * e or v < e / 10


def _power_one_step(W, iters=50):
    u, v = _power(W, 1)
    return u @ W @ v


def _power_from_v(W, iters=50):
    v = torch.ones(W.shape[1]) / W.shape[1] ** 0.5
    for _ in range(iters):
        u = W @ v
        u = u / u.norm()
        v = W.T @ u
        v = v / v.norm()
    return u @ (W @ v)


def _right_in_the_end_only(got, expected) -> bool:
    """Converges to sigma, but the first steps differ: another start or another order."""
    if not (isinstance(got, tuple) and len(got) == len(POWER_STEPS)):
        return False
    if not all(_is_tensor(g) and g.numel() == 1 for g in got):
        return False
    close = [abs(float(g) - float(e)) < 1e-3 for g, e in zip(got, expected, strict=True)]
    return close[-1] and not all(close[:-1])


register(
    Exercise(
        name="power_iteration",
        notebook="04_hinge_and_discriminator",
        reference=_power_iteration,
        inputs=(lambda: torch.randn(20, 30, generator=_gen(0)),),
        outputs=tuple(f"sigma after {t} step{'s' * (t > 1)}" for t in POWER_STEPS),
        atol=1e-3,
        rtol=1e-4,
        wrap=_at_steps,
        mistakes=(
            Mistake(
                "that is the Frobenius norm (all singular values together, sqrt of the sum of "
                "squares), not the largest singular value",
                lambda W, iters=50: W.norm(),
            ),
            Mistake(
                "that is sigma squared (the largest eigenvalue of W^T W): u^T W v with unit u "
                "and v gives sigma itself",
                test=_is_sigma_squared,
                example=_power_squared,
            ),
            Mistake(
                "u and v are not normalised inside the loop: their length grows or shrinks "
                "like sigma at every step, so u^T W v is not sigma",
                test=_is_far_off,
                example=_power_unnormalised,
            ),
            Mistake(
                "only one iteration ran: the loop must repeat `iters` times for u and v to "
                "turn towards the top singular vectors",
                _power_one_step,
            ),
            Mistake(
                "right after 50 steps but not after 1 or 3: the estimate converges from any "
                "start, but the recipe starts from u = (1, ..., 1)/sqrt(rows) and computes v "
                "from u first, then u from v",
                test=_right_in_the_end_only,
                example=_power_from_v,
            ),
            Mistake(
                "a vector came back: sigma is the number u^T W v",
                test=lambda got, exp: _is_tensor(_last(got), 1),
                example=lambda W, iters=50: W @ (W.T @ torch.ones(W.shape[0])),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 05 · information conservation
# ---------------------------------------------------------------------------------------------
register(
    Exercise(
        name="z_loss",
        notebook="05_information_conservation",
        reference=z_loss,
        inputs=(
            lambda: torch.randn(4, 2, 16, generator=_gen(7)),
            lambda: torch.randn(4, 2, 16, generator=_gen(8)),
            lambda: 5.0,
        ),
        outputs=("loss_z",),
        mistakes=(
            Mistake(
                "a sum instead of the mean: the mean runs over all B * n * z_dim entries, so "
                "the weight does not change with the batch size",
                lambda p, z, lam: lam * ((p - z) ** 2).sum(),
            ),
            Mistake(
                "lambda_z is missing: the loss is weighted by it",
                lambda p, z, lam: ((p - z) ** 2).mean(),
            ),
            Mistake(
                "absolute errors (L1) instead of squared ones",
                lambda p, z, lam: lam * (p - z).abs().mean(),
            ),
            Mistake(
                "squared errors summed over z's entries, then averaged: that multiplies the "
                "loss by z_dim (the paper's lambda_z = 5/(n * size_z) on squared norms is the "
                "mean over every entry)",
                lambda p, z, lam: lam * ((p - z) ** 2).sum(-1).mean(),
            ),
            Mistake(
                "squared errors summed over the regions and z's entries, then averaged over the "
                "batch: that multiplies the loss by n * z_dim (the paper's squared norms for "
                "every region); the official form is one mean over every entry",
                lambda p, z, lam: lam * ((p - z) ** 2).sum((1, 2)).mean(),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 06 · pyramid pooling (a module: the reference's weights are copied into the learner's)
# ---------------------------------------------------------------------------------------------
def module_wrap(reference_cls, make):
    """For a module exercise: ``candidate`` (a class, or an instance) becomes a function of the
    inputs that builds the reference, copies its weights into the candidate and runs it."""

    def wrap(candidate):
        def go(*inputs):
            ref = make(reference_cls)
            mod = make(candidate) if isinstance(candidate, type) else candidate
            try:
                mod.load_state_dict(ref.state_dict())
            except RuntimeError as e:
                raise ParametersDiffer(str(e).splitlines()[0][:300]) from None
            return mod(*inputs)

        return go

    return wrap


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


def _variant(base, forward, **kw):
    return type(base.__name__, (base,), {"forward": lambda self, *a: forward(self, *a, **kw)})


def _ppm_parts(out) -> dict:
    if not _is_tensor(out, 4) or out.shape[1] != PPM_C + len(PPM_BINS):
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
        inputs=(lambda: torch.randn(2, PPM_C, 32, 32, generator=_gen(9)),),
        wrap=module_wrap(nets.PyramidPooling, lambda cls: cls(PPM_C, PPM_BINS, 0.8)),
        split=_ppm_parts,
        mistakes=(
            Mistake(
                "max pooling: the pyramid averages the features over each window",
                _variant(nets.PyramidPooling, _ppm_forward, pool="max"),
            ),
            Mistake(
                "the window was the bin count b; a bin count of b means b windows per side, "
                "each size // b pixels wide",
                _variant(nets.PyramidPooling, _ppm_forward, kernel="b"),
            ),
            Mistake(
                "adaptive pooling to b x b cells (PSPNet's usual layer): the official ReDO pools "
                "with fixed windows of size // b (32, 16, 10, 5 at 32 px), which leaves the last "
                "rows out when b does not divide the size, so bins 3 and 6 differ",
                _variant(nets.PyramidPooling, _ppm_forward, kernel="adaptive"),
            ),
            Mistake(
                "nearest-neighbour upsampling: the pooled maps are brought back bilinearly",
                _variant(nets.PyramidPooling, _ppm_forward, mode="nearest"),
            ),
            Mistake(
                "align_corners=True: the official upsampling uses align_corners=False",
                _variant(nets.PyramidPooling, _ppm_forward, corners=True),
            ),
            Mistake(
                "the input features are not in the output: the pooled maps are concatenated "
                "to x, so every pixel keeps its own features next to the context",
                _variant(nets.PyramidPooling, _ppm_forward, keep=False),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 07 · conditional instance norm
# ---------------------------------------------------------------------------------------------
def _cin_forward(
    self,
    x,
    z,
    plus_one=False,
    norm=True,
    swap=False,
    batch=False,
    unbiased=False,
    layer=False,
    eps_added=False,
):
    if batch:
        h = F_.batch_norm(x, None, None, training=True)
    elif eps_added:  # epsilon after the division (added to sd instead: within the tolerance)
        mean, var = x.mean((2, 3), keepdim=True), x.var((2, 3), keepdim=True, unbiased=False)
        h = (x - mean) / torch.sqrt(var) + 1e-5
    elif unbiased or layer:
        dims = (1, 2, 3) if layer else (2, 3)
        mean, var = x.mean(dims, keepdim=True), x.var(dims, keepdim=True, unbiased=unbiased)
        h = (x - mean) / torch.sqrt(var + 1e-5)
    else:
        h = self.norm(x) if norm else x
    gamma, beta = (self.beta(z), self.gamma(z)) if swap else (self.gamma(z), self.beta(z))
    return h * (1 + gamma if plus_one else gamma) + beta


register(
    Exercise(
        name="CondInstanceNorm",
        notebook="07_region_generators",
        reference=nets.CondInstanceNorm,
        inputs=(
            lambda: torch.randn(2, 8, 16, 16, generator=_gen(10)) * 3 + 1,
            lambda: torch.randn(2, 4, 1, 1, generator=_gen(11)),
        ),
        wrap=module_wrap(nets.CondInstanceNorm, lambda cls: cls(8, 4, 0.8)),
        mistakes=(
            Mistake(
                "gamma(z) + 1: a common convention (BigGAN), but this model, like the official "
                "code, scales by gamma(z) itself",
                _variant(nets.CondInstanceNorm, _cin_forward, plus_one=True),
            ),
            Mistake(
                "x is not normalised: instance norm first takes each channel of each image to "
                "zero mean and unit variance, then z sets the scale and the shift",
                _variant(nets.CondInstanceNorm, _cin_forward, norm=False),
            ),
            Mistake(
                "gamma and beta are swapped: gamma(z) scales, beta(z) shifts",
                _variant(nets.CondInstanceNorm, _cin_forward, swap=True),
            ),
            Mistake(
                "batch statistics: instance norm normalises each image's channels on their own, "
                "so a region's style does not depend on the other images in the batch",
                _variant(nets.CondInstanceNorm, _cin_forward, batch=True),
            ),
            Mistake(
                "the variance with Bessel's correction (torch's default, unbiased=True): "
                "instance norm divides by the H*W pixels themselves",
                _variant(nets.CondInstanceNorm, _cin_forward, unbiased=True),
            ),
            Mistake(
                "the statistics were taken over the channels too (that is layer norm): instance "
                "norm gives each channel of each image its own mean and spread",
                _variant(nets.CondInstanceNorm, _cin_forward, layer=True),
            ),
            Mistake(
                "epsilon was added after the division, to the normalised features: it belongs "
                "inside the square root, (x - mean) / sqrt(var + eps), where it keeps a flat "
                "channel from a division by zero",
                _variant(nets.CondInstanceNorm, _cin_forward, eps_added=True),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 08 · the training step (run once on a tiny model; optimiser steps are counted)
# ---------------------------------------------------------------------------------------------
def tiny_config():
    from ..config import get_preset

    return get_preset("tiny")


def _grads(net) -> list:
    return [None if p.grad is None else p.grad.clone() for p in net.parameters()]


def _moved(net, before) -> bool:
    """Did F's or G's gradients change after their own step (D's loss flowing into them)?"""
    for i, p in enumerate(net.parameters()):
        if p.grad is None or not p.grad.any():
            continue
        if before is None or before[i] is None or not torch.equal(p.grad, before[i]):
            return True
    return False


LR = 0.01  # the harness's SGD learning rate


def step_harness(step_fn):
    """One step of ``step_fn`` on a fresh tiny model whose every ``.grad`` holds seeded junk (as
    a previous step would leave it): its losses, how often each optimiser stepped, whether D's
    loss sent gradients into F or G, and how the step moved every weight. The optimisers are
    plain SGD, so each network's update is -LR times the gradient it was stepped with (Adam's
    first step, about lr times the gradient's sign, would hide a wrong gradient in its rounding)."""

    def go(x_gen, x_real, z):
        torch.manual_seed(0)
        model = nets.build_nets(tiny_config())
        opts = {k: torch.optim.SGD(model[k].parameters(), lr=LR) for k in "FGZD"}
        junk = torch.Generator().manual_seed(99)
        for k in "FGZD":  # gradients left over from an earlier step: the step must clear them
            for p in model[k].parameters():
                p.grad = torch.randn(p.shape, generator=junk)
        before = {k: [p.detach().clone() for p in model[k].parameters()] for k in "FGZD"}
        steps = {k: 0 for k in "FGZD"}
        after_own_step, leaked = {}, []

        def counting(key, opt):
            step = opt.step

            def counted(*a, **kw):
                steps[key] += 1
                if key in "FG":
                    after_own_step[key] = _grads(model[key])
                if key == "D":
                    leaked.append(any(_moved(model[j], after_own_step.get(j)) for j in "FG"))
                return step(*a, **kw)

            opt.step = counted

        for k, o in opts.items():
            counting(k, o)
        out = step_fn(model, opts, x_gen, x_real, z, 5.0)
        if not isinstance(out, dict):
            out = {k: out for k in ("loss_g", "loss_z", "loss_d")}
        updates = {
            f"{k} update": {
                n: p.detach() - p0
                for (n, p), p0 in zip(model[k].named_parameters(), before[k], strict=True)
            }
            for k in "FGZD"
        }
        return {
            **{k: out.get(k, None) for k in ("loss_g", "loss_z", "loss_d")},
            "optimiser steps": dict(steps),
            "D's loss reached F or G": any(leaked),
            **updates,
        }

    return go


def train_step_variant(
    d_in_part1=False,
    recompute=True,
    no_grad=True,
    z_in_backward=True,
    swap_d=False,
    clear_d=True,
    zero_first=True,
):
    """The training step with one thing changed (the default is the reference's step)."""
    from ..process import assemble, redraw_all

    def step(nets_, opts, x_gen, x_real, z, lambda_z):
        F, G, D, Z = (nets_[k] for k in "FGDZ")
        for o in opts.values() if zero_first else ():
            o.zero_grad(set_to_none=True)
        masks = F(x_gen)
        drawn = G(masks, z)
        fakes = redraw_all(x_gen, masks, drawn).flatten(0, 1)
        loss_g = hinge_g(D(fakes))
        loss_zz = z_loss(Z(assemble(drawn)), z, lambda_z)
        (loss_g + loss_zz if z_in_backward else loss_g).backward()
        for k in "FGDZ" if d_in_part1 else "FGZ":
            opts[k].step()
        if clear_d:
            opts["D"].zero_grad(set_to_none=True)
        if recompute:
            with torch.set_grad_enabled(not no_grad):
                masks = F(x_gen)
                fakes = redraw_all(x_gen, masks, G(masks, z)).flatten(0, 1)
        else:
            fakes = fakes.detach()
        real_scores, fake_scores = D(x_real), D(fakes)
        loss_d = hinge_d(fake_scores, real_scores) if swap_d else hinge_d(real_scores, fake_scores)
        loss_d.backward()
        opts["D"].step()
        return {"loss_g": loss_g.item(), "loss_z": loss_zz.item(), "loss_d": loss_d.item()}

    return step


def _reference_train_step(nets_, opts, x_gen, x_real, z, lambda_z):
    from ..train import train_step

    return train_step(nets_, opts, x_gen, x_real, z, lambda_z)


register(
    Exercise(
        name="train_step",
        notebook="08_training",
        reference=_reference_train_step,
        inputs=(
            lambda: torch.rand(4, 3, 16, 16, generator=_gen(12)) * 2 - 1,
            lambda: torch.rand(4, 3, 16, 16, generator=_gen(13)) * 2 - 1,
            lambda: torch.randn(4, 3, 4, generator=_gen(14)),
        ),
        atol=1e-6,
        rtol=1e-4,
        wrap=step_harness,
        mistakes=(
            Mistake(
                "D's optimiser stepped in part 1: D then moved along the gradient of the "
                "generators' loss (which wants D fooled); part 1 steps only F, G and delta",
                train_step_variant(d_in_part1=True),
            ),
            Mistake(
                "D was trained on the composites made before F and G stepped: recompute them "
                "with the updated F and G (same x, same z), as the official code does",
                train_step_variant(recompute=False),
            ),
            Mistake(
                "the composites for D were recomputed with gradients on, so D's loss flowed "
                "back into F and G: recompute them under torch.no_grad()",
                train_step_variant(no_grad=False),
            ),
            Mistake(
                "delta's loss was not back-propagated: the generator side minimises "
                "loss_g + loss_z together (delta did not move, and G missed loss_z's gradient)",
                train_step_variant(z_in_backward=False),
            ),
            Mistake(
                "hinge_d's arguments are swapped: it takes (scores of real images, scores of "
                "redrawn ones)",
                train_step_variant(swap_d=True),
            ),
            Mistake(
                "D's gradients from part 1 were not cleared before its own backward: the "
                "gradient of the generators' loss with respect to D's weights (which points "
                "the wrong way for D) was added to L_D's",
                train_step_variant(clear_d=False),
            ),
            Mistake(
                "the gradients were not cleared at the start of part 1: F, G and delta stepped "
                "along their new gradient plus whatever the previous step left in .grad "
                "(PyTorch adds to .grad, it never replaces it); zero every optimiser first",
                train_step_variant(zero_first=False),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 09 · per-image IoU under the best permutation
# ---------------------------------------------------------------------------------------------
def iou_case(b: int = 6, s: int = 8, n: int = 3):
    """(pred, gt) B,S,S label maps: gt has two rectangles (labels 1, 2), pred is gt with its
    labels permuted differently in every image and 15% of pixels flipped; the last image has
    no label 2 at all (its region's union is empty under the best permutation)."""
    g = _gen(2)
    gt = torch.zeros(b, s, s, dtype=torch.long)
    for i in range(b):
        for label in (1, 2):
            if i == b - 1 and label == 2:
                continue
            h, w = torch.randint(2, 5, (2,), generator=g).tolist()
            y, x = torch.randint(0, s - 3, (2,), generator=g).tolist()
            gt[i, y : y + h, x : x + w] = label
    pred = torch.stack([torch.randperm(n, generator=g)[t] for t in gt])
    flip = torch.rand(b, s, s, generator=g) < 0.15
    flip[-1] = False
    return torch.where(flip, torch.randint(0, n, (b, s, s), generator=g), pred), gt


def _per_image_iou(pred, gt, n):
    return torch.tensor(metrics.score(pred, gt, n)["per_image_iou"])


def _iou_tables(pred, gt, n):
    return metrics.permutation_tables(pred, gt, n)[2]  # B, P, n (NaN: empty union)


def _iou_one_permutation(pred, gt, n):
    obj = _iou_tables(pred, gt, n)[:, :, 1:].nanmean(2)
    best = torch.nan_to_num(obj, nan=0.0).mean(0).argmax()
    return obj[:, best].float()


def _iou_with_background(pred, gt, n):
    return _iou_tables(pred, gt, n).nanmean(2).nan_to_num(-1).max(1).values.float()


def _iou_identity(pred, gt, n):
    identity = list(itertools.permutations(range(n))).index(tuple(range(n)))
    return _iou_tables(pred, gt, n)[:, identity, 1:].nanmean(1).float()


def _iou_empty_as_zero(pred, gt, n):
    return _iou_tables(pred, gt, n)[:, :, 1:].nan_to_num(0.0).mean(2).max(1).values.float()


def _iou_areas_swapped(pred, gt, n):
    """The table's axes read the wrong way round: F's areas summed over F's own axis."""
    inter = metrics.overlap_counts(pred, gt, n)
    area_pred, area_true = inter.sum(1), inter.sum(2)
    scores = []
    for p in itertools.permutations(range(n)):
        both = torch.stack([inter[:, p[g], g] for g in range(1, n)], 1)
        union = torch.stack([area_pred[:, p[g]] + area_true[:, g] for g in range(1, n)], 1) - both
        scores.append((both / union).nanmean(1))
    return torch.stack(scores, 1).nan_to_num(-1).max(1).values.float()


def _iou_with_areas(pred, gt, n, union_of):
    """The best mean object IoU per image, with the union computed by ``union_of(inter, area_pred,
    area_true)`` (for the mistakes that get the union wrong)."""
    inter = metrics.overlap_counts(pred, gt, n)
    area_pred, area_true = inter.sum(2), inter.sum(1)
    scores = []
    for p in itertools.permutations(range(n)):
        both = torch.stack([inter[:, p[g], g] for g in range(1, n)], 1)
        union = torch.stack(
            [union_of(inter[:, p[g], g], area_pred[:, p[g]], area_true[:, g]) for g in range(1, n)],
            1,
        )
        scores.append((both / union).nanmean(1))
    return torch.stack(scores, 1).nan_to_num(-1).max(1).values.float()


register(
    Exercise(
        name="per_image_iou",
        notebook="09_evaluation",
        reference=_per_image_iou,
        inputs=(lambda: iou_case()[0], lambda: iou_case()[1], lambda: 3),
        outputs=("IoU per image",),
        mistakes=(
            Mistake(
                "one permutation for the whole set: here every image picks its own best "
                "assignment of predicted regions to true ones (the official code's convention)",
                _iou_one_permutation,
            ),
            Mistake(
                "the background's IoU is in the mean: the score averages the object regions "
                "1..n-1 only",
                _iou_with_background,
            ),
            Mistake(
                "no permutation search: predicted region k is not true region k (F is never "
                "told which region is which); take the best over all permutations",
                _iou_identity,
            ),
            Mistake(
                "a region absent from both prediction and truth counted as IoU 0: its union is "
                "empty, so it is left out of that image's mean",
                _iou_empty_as_zero,
            ),
            Mistake(
                "the union is the two areas added: the pixels they share are counted twice, so "
                "even a perfect match scores 0.5",
                lambda p, g, n: _iou_with_areas(p, g, n, lambda i, a, t: a + t),
            ),
            Mistake(
                "the overlap is divided by the true region's area alone: that is recall, which a "
                "predicted region covering the whole image maximises",
                lambda p, g, n: _iou_with_areas(p, g, n, lambda i, a, t: t),
            ),
            Mistake(
                "one number for the whole batch: per_image_iou returns one best score per image "
                "(a B tensor)",
                test=lambda got, exp: _is_tensor(got, 0),
                example=lambda p, g, n: _per_image_iou(p, g, n).nanmean(),
            ),
            Mistake(
                "the areas are read along the wrong axes of the table: in inter[b, k, g] the rows "
                "(axis 1) are F's regions and the columns (axis 2) the truth's, so F's region k "
                "covers the sum of its row and true region g the sum of its column",
                _iou_areas_swapped,
            ),
            Mistake(
                "NaN: a region absent from both prediction and truth has an empty union, 0/0 is "
                "NaN, and a plain mean (then the max) passes it on; average the objects with a "
                "mean that skips NaN, which leaves that region out of the image's mean",
                lambda p, g, n: _iou_tables(p, g, n)[:, :, 1:].mean(2).max(1).values.float(),
            ),
        ),
    )
)


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


# ---------------------------------------------------------------------------------------------
# 11 · the supervised loss
# ---------------------------------------------------------------------------------------------
def supervised_case():
    """(masks B,3,H,W summing to one, labels B,H,W); on the first row of image 0 F is certain and
    wrong: the true label's probability is exactly 0 there."""
    g = _gen(3)
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


# Exercises added with a notebook can live in their own module, ``redo_lite/course/ex_<name>.py``,
# which imports ``register`` (and the helpers above) from here; every such module is loaded here,
# so that EXERCISES holds them all.
def _load_notebook_modules() -> None:
    import importlib
    import pkgutil
    from pathlib import Path

    for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if info.name.startswith("ex_"):
            importlib.import_module(f"{__package__}.{info.name}")


_load_notebook_modules()
