"""Notebook 09: scoring regions that have no names. The best permutation of predicted regions to
true ones, for one image; then the two conventions (each image its own permutation, or one for the
whole split). Every number in these figures is computed here, by redo_lite.metrics, from the toy
label maps drawn in them."""

from __future__ import annotations

import itertools

import torch
from matplotlib.patches import Patch, Rectangle

from redo_lite.metrics import permutation_tables
from redo_lite.viz import PALETTE

from .common import arrow, canvas, picture, save

NAMES = ("background", "even digit", "odd digit")


def _toy(swap: tuple[int, int, int], noise: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(truth, prediction) 10x10 label maps: an L-shaped 'even digit' (1) and a bar 'odd digit' (2)
    on background (0); the prediction relabels truth g as swap[g] and gets ``noise`` pixels wrong
    along the digits' edges."""
    t = torch.zeros(10, 10, dtype=torch.long)
    t[2:8, 2:4] = 1
    t[6:8, 2:5] = 1
    t[1:9, 6:8] = 2
    p = torch.tensor(swap)[t]
    g = torch.Generator().manual_seed(seed)
    edge = [(i, j) for i in range(10) for j in range(10) if 0 < t[i, j] and (j in (1, 4, 5, 8))]
    edge += [(i, j) for i in range(10) for j in (1, 5, 8) if t[i, j] == 0]
    for k in torch.randperm(len(edge), generator=g)[:noise].tolist():
        i, j = edge[k]
        p[i, j] = swap[0] if t[i, j] > 0 else swap[1 + (j > 5)]
    return t, p


def _map(ax, labels: torch.Tensor, x: float, y: float, size: float, title: str = ""):
    """A label map drawn as coloured cells, lower-left corner (x, y), side ``size``."""
    picture(ax, PALETTE[labels].numpy(), x, y, size, zorder=2, frame=True)
    if title:
        ax.text(x + size / 2, y + size + 0.15, title, ha="center", va="bottom", fontsize=10)


def _legend(ax, loc, title):
    handles = [
        Patch(
            facecolor=PALETTE[k].tolist(),
            edgecolor="#333333",
            label=f"{k}: {NAMES[k]} / region {k}",
        )
        for k in range(3)
    ]
    ax.legend(handles=handles, loc=loc, fontsize=9, title=title, title_fontsize=9, frameon=False)


def permutation_matching(path):
    fig, ax = canvas(17, 8.2, "Regions have no names: score under the best permutation")
    truth, pred = _toy((2, 0, 1), noise=6, seed=0)
    _map(ax, truth, 0.4, 2.4, 3.6, "ground truth (labels 0, 1, 2)")
    _map(ax, pred, 4.6, 2.4, 3.6, "F's regions (argmax)")
    ax.text(
        4.2,
        1.7,
        "nearly the same shapes, other names: F never\nlearns which region index means what",
        ha="center",
        va="top",
        fontsize=9,
        style="italic",
    )
    arrow(ax, (8.4, 4.2), (9.2, 4.2))
    # the table: every permutation p (p[g] = F's region given to true region g)
    perms, acc, iou = permutation_tables(pred[None], truth[None], 3)
    obj = iou[0, :, 1:].nanmean(1)
    best = int(obj.argmax())
    x0, top, row = 9.5, 6.9, 0.72
    cols = (
        ("p = (p[0], p[1], p[2])", 0.0),
        ("IoU even", 3.0),
        ("IoU odd", 4.4),
        ("mean", 5.75),
        ("acc", 6.85),
    )
    for text, dx in cols:
        ax.text(x0 + dx, top, text, fontsize=9.5, fontweight="bold", va="center")
    ax.text(
        x0 + 3.7,
        top + 0.55,
        "p[g] = the region of F given to true region g; IoU of each digit under p",
        ha="center",
        fontsize=9.5,
        style="italic",
    )
    for r, p in enumerate(perms):
        y = top - (r + 1) * row
        if r == best:
            ax.add_patch(
                Rectangle(
                    (x0 - 0.15, y - row / 2 + 0.05),
                    7.55,
                    row - 0.1,
                    facecolor="#fff2b3",
                    edgecolor="#b38f00",
                    lw=1.2,
                )
            )
        ax.text(
            x0 + 0.3, y, f"({p[0]}, {p[1]}, {p[2]})", fontsize=10, va="center", family="monospace"
        )
        ax.text(x0 + 3.0, y, f"{iou[0, r, 1]:.2f}", fontsize=10, va="center")
        ax.text(x0 + 4.4, y, f"{iou[0, r, 2]:.2f}", fontsize=10, va="center")
        ax.text(x0 + 5.75, y, f"{obj[r]:.2f}", fontsize=10, va="center", fontweight="bold")
        ax.text(x0 + 6.85, y, f"{acc[0, r]:.2f}", fontsize=10, va="center")
    ax.text(
        x0 + 3.7,
        top - 7 * row - 0.1,
        f"score of this image = the best row, p = {tuple(perms[best])}:\n"
        "truth's background = F's region 2, even digit = region 0, odd digit = region 1",
        ha="center",
        va="top",
        fontsize=9.5,
    )
    _legend(ax, "lower left", "colour = label index")
    ax.set_ylim(-0.6, 7.9)
    save(fig, path)


def two_conventions(path):
    fig, ax = canvas(17, 9.6, "Per image, or one permutation for the whole split?")
    # four images: F calls the even digit region 1 in the first three, region 2 in the last one
    swaps = [(0, 1, 2), (0, 1, 2), (0, 1, 2), (0, 2, 1)]
    maps = [_toy(s, noise=4 + i, seed=i) for i, s in enumerate(swaps)]
    truth = torch.stack([t for t, _ in maps])
    pred = torch.stack([p for _, p in maps])
    perms, _, iou = permutation_tables(pred, truth, 3)
    obj = iou[:, :, 1:].nanmean(2)  # B, P
    own = obj.argmax(1)
    shared = int(obj.mean(0).argmax())
    size, gap, x0 = 2.3, 0.9, 3.3
    ax.text(0.2, 6.5, "ground truth", fontsize=10, va="center")
    ax.text(0.2, 3.9, "F's regions", fontsize=10, va="center")
    ax.text(0.2, 1.95, "each image picks\nits own p", fontsize=10, va="center", color="#1f5f8b")
    ax.text(
        0.2, 0.65, "one p, the best on\naverage, for all", fontsize=10, va="center", color="#8b3a1f"
    )
    for i in range(4):
        x = x0 + i * (size + gap)
        _map(ax, truth[i], x, 5.35, size, f"image {i + 1}")
        _map(ax, pred[i], x, 2.75, size)
        ax.text(
            x + size / 2,
            2.25,
            f"own p = {tuple(perms[own[i]])}\nIoU {obj[i, own[i]]:.2f}",
            ha="center",
            va="top",
            fontsize=9.5,
            color="#1f5f8b",
        )
        ax.text(
            x + size / 2,
            0.95,
            f"shared p = {tuple(perms[shared])}\nIoU {obj[i, shared]:.2f}",
            ha="center",
            va="top",
            fontsize=9.5,
            color="#8b3a1f",
        )
    xr = x0 + 4 * (size + gap) + 0.1
    ax.text(
        xr,
        1.85,
        f"per image (official code):\nmean IoU {obj[torch.arange(4), own].mean():.2f}",
        fontsize=10,
        color="#1f5f8b",
        va="center",
        fontweight="bold",
    )
    ax.text(
        xr,
        0.55,
        f"one permutation for all:\nmean IoU {obj[:, shared].mean():.2f}",
        fontsize=10,
        color="#8b3a1f",
        va="center",
        fontweight="bold",
    )
    ax.text(
        xr,
        4.6,
        "image 4: F calls the even\ndigit region 2, not region 1.\nPer image, nothing is lost;\n"
        "with one permutation for\nthe split, image 4 pays.",
        fontsize=9.5,
        va="center",
        style="italic",
    )
    _legend(ax, "upper right", "colour = label index")
    ax.set_ylim(-0.2, 9.6)
    save(fig, path)


FIGURES = {
    "nb09_permutation_matching.svg": permutation_matching,
    "nb09_two_conventions.svg": two_conventions,
}

if __name__ == "__main__":  # PNG copies to look at: python -m tools.diagrams.nb09_evaluation
    for name, draw in FIGURES.items():
        draw(f"/tmp/{name[:-4]}.png")
    print(list(itertools.chain(FIGURES)))
