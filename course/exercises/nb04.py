"""Notebook 04 (hinge losses and the discriminator): the two hinge losses and the
power iteration behind spectral norm.

Each exercise: its reference, its seeded inputs, its outputs' names and its typical mistakes,
registered with :func:`course.registry.register`."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F_

from redo_lite.losses import hinge_d, hinge_g

from ..cases import gen, is_tensor
from ..registry import Exercise, Mistake, register


# ---------------------------------------------------------------------------------------------
# 04 · hinge losses and power iteration
# ---------------------------------------------------------------------------------------------
def _scores(n: int, seed: int):
    return lambda: torch.randn(n, generator=gen(seed)) * 2


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
            Mistake(
                "the margin is 0 instead of 1: the hinge is max(0, 1 - D(I)) for a real image and "
                "max(0, 1 + D(I_hat)) for a redrawn one, so D keeps pushing until the scores are "
                "past +1 and -1, not just past 0",
                lambda r, f: F_.relu(-r).mean() + F_.relu(f).mean(),
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
            Mistake(
                "a sum instead of the mean: the loss (and the generators' step) then grows with "
                "the number of redrawn images in the batch",
                lambda f: -f.sum(),
            ),
            Mistake(
                "the scores were clipped at zero: -E[D(I_hat)] keeps pushing every redrawn "
                "image, also those D already scores as real (a positive score)",
                lambda f: -F_.relu(f).mean(),
            ),
            Mistake(
                "that is the non-saturating loss of the original GAN, softplus(-D) = "
                "-log(sigmoid(D)): with the hinge GAN the generator side minimises -E[D(I_hat)], "
                "the raw score",
                lambda f: F_.softplus(-f).mean(),
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
    return is_tensor(got) and got.numel() == 1 and abs(float(got) - sq) < 1e-2 * sq


def _is_far_off(got, expected) -> bool:
    got = _last(got)
    if not is_tensor(got) or got.numel() != 1:
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
    if not all(is_tensor(g) and g.numel() == 1 for g in got):
        return False
    close = [abs(float(g) - float(e)) < 1e-3 for g, e in zip(got, expected, strict=True)]
    return close[-1] and not all(close[:-1])


register(
    Exercise(
        name="power_iteration",
        package="torch.nn.utils.parametrizations.spectral_norm",
        notebook="04_hinge_and_discriminator",
        reference=_power_iteration,
        inputs=(lambda: torch.randn(20, 30, generator=gen(0)),),
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
                test=lambda got, exp: is_tensor(_last(got), 1),
                example=lambda W, iters=50: W @ (W.T @ torch.ones(W.shape[0])),
            ),
        ),
    )
)


# ---------------------------------------------------------------------------------------------
# 04 · reasoning: which images each loss still pushes
# ---------------------------------------------------------------------------------------------
def still_pushed(real_scores, fake_scores):
    """The reference: D's scores of real images (B_r,) and of redrawn ones (B_f,) -> which images
    still get a gradient: from D's hinge loss, the real images scored below 1 and the redrawn ones
    above -1 (past the margin a hinge term is flat); from the generators' loss -E[D(I_hat)],
    every redrawn image (it has no margin)."""
    return real_scores < 1, fake_scores > -1, torch.ones_like(fake_scores, dtype=torch.bool)


def _pushed_below_minus_one(r, f):
    return r < 1, f < -1, torch.ones_like(f, dtype=torch.bool)


def _generators_with_margin(r, f):
    return r < 1, f > -1, f < 1


def _no_margin(r, f):
    return torch.ones_like(r, dtype=torch.bool), torch.ones_like(f, dtype=torch.bool), f == f


def _reals_above_one(r, f):
    return r > 1, f > -1, torch.ones_like(f, dtype=torch.bool)


register(
    Exercise(
        name="still_pushed",
        notebook="04_hinge_and_discriminator",
        reference=still_pushed,
        inputs=(_scores(5, 5), _scores(15, 6)),
        outputs=(
            "real images D's loss pushes",
            "redrawn images D's loss pushes",
            "redrawn images the generators' loss pushes",
        ),
        reasoning=True,
        mistakes=(
            Mistake(
                "the redrawn images' margin is the wrong way round: max(0, 1 + s) is flat once s "
                "is below -1 (D is done with those) and has slope 1 above it",
                _pushed_below_minus_one,
            ),
            Mistake(
                "the generators' loss has no margin: -E[D(I_hat)] has the same slope, -1, at "
                "every score, so every redrawn image is pushed, however real D finds it already",
                _generators_with_margin,
            ),
            Mistake(
                "D's loss has a margin: a real image scored above 1 (or a redrawn one below -1) "
                "has a hinge term of 0 and gives D no gradient",
                _no_margin,
            ),
            Mistake(
                "the real images' margin is the wrong way round: max(0, 1 - s) is flat once s is "
                "above 1 (D is done with those) and pushes the ones below it",
                _reals_above_one,
            ),
        ),
    )
)
