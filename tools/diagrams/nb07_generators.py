"""Notebook 07: a region generator G_k, and one of its up-blocks with conditional norm."""

from __future__ import annotations

from .common import arrow, box, canvas, legend, save


def draw_gen_block(path):
    fig, ax = canvas(12, 14.2, "One up-block of $G_k$: the mask and $z_k$ enter every block")
    x0 = 4.5  # the main branch, top to bottom
    main = [
        (12.6, "features x\nC_in × h × w", "data"),
        (11.1, "conditional norm\nIN(x)·γ(z) + β(z)", "G"),
        (9.8, "ReLU", "note"),
        (8.5, "concatenate: features, then mask\nC_in + 1 channels", "note"),
        (7.0, "upsample ×2\n(nearest)", "note"),
        (5.6, "3×3 conv (spectral norm)\nC_out channels", "G"),
        (4.2, "conditional norm\nIN(h)·γ'(z) + β'(z)", "G"),
        (2.9, "ReLU", "note"),
        (1.6, "3×3 conv (spectral norm)", "G"),
    ]
    for (y, text, kind), nxt in zip(main, main[1:] + [None], strict=True):
        h = 0.7 if text == "ReLU" else 1.0
        box(ax, x0, y, 3.6, h, text, kind, fontsize=10)
        if nxt:
            nh = 0.7 if nxt[1] == "ReLU" else 1.0
            arrow(ax, (x0, y - h / 2), (x0, nxt[0] + nh / 2))
    # the sum and the output
    ax.add_patch(
        __import__("matplotlib.patches", fromlist=["Circle"]).Circle(
            (x0, 0.45), 0.3, facecolor="white", edgecolor="#333333", linewidth=1.4
        )
    )
    ax.text(x0, 0.45, "+", ha="center", va="center", fontsize=16)
    arrow(ax, (x0, 1.1), (x0, 0.75))
    box(ax, 8.8, 0.45, 3.0, 0.8, "out: C_out × 2h × 2w", "data", fontsize=10)
    arrow(ax, (x0 + 0.3, 0.45), (7.3, 0.45))
    # the shortcut, on the right
    xs = 9.6
    box(ax, xs, 7.0, 2.6, 0.9, "upsample ×2", "note", fontsize=10)
    box(ax, xs, 5.6, 2.6, 0.9, "1×1 conv (spectral\nnorm): C_out", "G", fontsize=10)
    ax.plot([x0 + 1.8, xs, xs], [12.6, 12.6, 7.45], color="#333333", linewidth=1.4)
    arrow(ax, (xs, 8.2), (xs, 7.45))
    ax.text(xs + 0.15, 10.0, "shortcut", fontsize=10, rotation=-90, va="center")
    arrow(ax, (xs, 6.55), (xs, 6.05))
    arrow(ax, (xs, 5.15), (x0 + 0.25, 0.65), rad=-0.15)
    # z and the mask, on the left
    box(ax, 1.0, 11.1, 1.5, 0.9, "noise $z_k$", "data", fontsize=10)
    arrow(ax, (1.75, 11.1), (x0 - 1.8, 11.1), "γ(z), β(z)", fontsize=9, offset=(0, 0.08))
    ax.plot([0.5, 0.5], [10.65, 4.2], color="#333333", linewidth=1.4)
    arrow(ax, (0.5, 4.2), (x0 - 1.8, 4.2), "γ'(z), β'(z)", fontsize=9, offset=(0.3, 0.08))
    box(ax, 1.5, 8.5, 1.5, 0.9, "mask $M^k$\nfull size", "data", fontsize=10)
    arrow(ax, (2.25, 8.5), (x0 - 1.8, 8.5))
    ax.text(1.5, 7.75, "average-pooled\nto h × w", fontsize=9, ha="center", va="top")
    legend(
        ax,
        {"learned layers of $G_k$": "G", "tensors and inputs": "data", "no weights": "note"},
        loc="lower left",
    )
    save(fig, path)


def draw_generator(path):
    fig, ax = canvas(
        17.4, 6.2, "A region generator $G_k(M^k, z_k)$ at 32 px: from noise to a redrawn region"
    )
    y = 3.6
    steps = [
        (1.0, "noise $z_k$\n(z_dim)", "data"),
        (3.3, "dense layer\n→ 4 × 4 seed", "G"),
        (5.7, "up-block\n4 → 8", "G"),
        (8.0, "up-block\n8 → 16", "G"),
        (10.3, "up-block\n16 → 32", "G"),
        (12.8, "cond. norm, ReLU,\nmask, 3×3 conv", "G"),
        (15.6, "tanh(·) ⊙ $M^k$", "note"),
    ]
    for (x, text, kind), nxt in zip(steps, steps[1:] + [None], strict=True):
        box(ax, x, y, 2.0 if x < 12 else 2.3, 1.1, text, kind, fontsize=10)
        if nxt:
            arrow(
                ax, (x + (1.0 if x < 12 else 1.15), y), (nxt[0] - (1.0 if nxt[0] < 12 else 1.15), y)
            )
    box(ax, 15.6, 1.3, 2.3, 0.9, "$G_k(M^k, z_k)$\nzero outside $M^k$", "data", fontsize=10)
    arrow(ax, (15.6, y - 0.55), (15.6, 1.75))
    box(ax, 8.1, 5.6, 3.0, 0.8, "mask $M^k$ (from F)", "data", fontsize=10)
    for x in (5.7, 8.0, 10.3, 12.8, 15.6):
        arrow(ax, (8.1 + (x - 8.1) * 0.2, 5.2), (x, y + 0.55), colour="#777777")
    ax.text(
        1.0,
        1.3,
        "$z_k$ also sets γ and β of every\nconditional norm (block diagram below);\n"
        "the blocks are the exercise",
        fontsize=10,
        va="center",
    )
    legend(
        ax, {"learned": "G", "tensors and inputs": "data", "no weights": "note"}, loc="lower center"
    )
    save(fig, path)


FIGURES = {"nb07_gen_block.svg": draw_gen_block, "nb07_generator.svg": draw_generator}
