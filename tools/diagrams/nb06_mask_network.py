"""Notebook 06: the mask network F, with its Pyramid Pooling Module opened up."""

from __future__ import annotations

from matplotlib.patches import Rectangle

from .common import COLOURS, arrow, box, canvas, legend, save


def _grid(ax, x, y, side, cells, colour):
    """A square of ``side`` units centred at (x, y), cut into cells x cells windows."""
    step = side / cells
    for i in range(cells):
        for j in range(cells):
            shade = 0.55 + 0.45 * ((i + j) % 2)
            ax.add_patch(
                Rectangle(
                    (x - side / 2 + i * step, y - side / 2 + j * step),
                    step,
                    step,
                    facecolor=colour,
                    alpha=shade,
                    edgecolor="#555555",
                    linewidth=0.6,
                )
            )


def draw_mask_network(path):
    fig, ax = canvas(16, 10.6, "The mask network F: local features, pyramid pooling, n masks")
    # --- the pipeline, top row ------------------------------------------------------------
    y = 9.2
    steps = [
        (1.1, "image I\n3 × S × S", "data"),
        (3.5, "7×7 conv\ninstance norm, ReLU", "F"),
        (6.0, "stride-2 convs\n(f_downs of them)", "F"),
        (8.5, "residual blocks\n(f_res_blocks)", "F"),
        (10.9, "pyramid pooling\n(below)", "F"),
        (13.3, "upsample + conv\n(f_downs), 7×7 conv", "F"),
    ]
    for (x0, text, kind), nxt in zip(steps, steps[1:] + [None], strict=True):
        box(ax, x0, y, 2.2, 1.1, text, kind, fontsize=10)
        if nxt:
            arrow(ax, (x0 + 1.1, y), (nxt[0] - 1.1, y))
    box(ax, 14.9, 7.3, 2.0, 1.1, "n masks $M^k$\n$\\sum_k M^k = 1$", "data", fontsize=10)
    arrow(ax, (13.8, y - 0.55), (14.6, 7.85), "softmax\nover k", offset=(0.55, -0.15))
    # --- the PPM opened up -------------------------------------------------------------------
    ax.add_patch(
        Rectangle(
            (0.3, 0.3),
            13.0,
            7.3,
            facecolor="none",
            edgecolor=COLOURS["F"],
            linewidth=2,
            linestyle="--",
        )
    )
    ax.text(0.5, 7.25, "inside the pyramid pooling module", fontsize=11, fontweight="bold")
    ax.text(
        0.5,
        6.85,
        "each row: average x over b × b windows, squeeze to one channel, bring back to h × w",
        fontsize=9.5,
    )
    arrow(ax, (10.9, y - 0.55), (10.9, 7.65), colour="#b07d1a")
    box(
        ax,
        1.4,
        3.7,
        2.0,
        1.4,
        "features x\nC × h × w\n(what each pixel\nsees locally)",
        "data",
        fontsize=9.5,
    )
    rows = [
        (5.9, 1, "b = 1: the whole image"),
        (4.55, 2, "b = 2"),
        (3.2, 3, "b = 3"),
        (1.85, 6, "b = 6: finest"),
    ]
    for yy, b, label in rows:
        arrow(
            ax,
            (2.4, 3.7),
            (3.5, yy),
            "avg pool" if b == 1 else "",
            fontsize=8.5,
            offset=(-0.35, 0.25),
        )
        _grid(ax, 4.1, yy, 1.0, b, COLOURS["data"])
        arrow(ax, (4.7, yy), (7.1, yy), label, fontsize=8.5, offset=(0, 0.08))
        box(ax, 7.9, yy, 1.6, 0.8, "1×1 conv\n→ 1 channel", "F", fontsize=9)
        box(ax, 10.0, yy, 1.7, 0.8, "upsample\nto h × w", "note", fontsize=9)
        arrow(ax, (8.7, yy), (9.15, yy))
        arrow(ax, (10.85, yy), (11.55, 3.7))
    # x itself, passed through to the concatenation
    ax.plot([1.4, 1.4, 12.3], [3.0, 0.8, 0.8], color="#333333", linewidth=1.4)
    arrow(ax, (12.3, 0.8), (12.3, 2.6))
    ax.text(
        6.5,
        0.88,
        "x itself is kept: each pixel's own features",
        fontsize=9.5,
        ha="center",
        va="bottom",
    )
    box(ax, 12.3, 3.7, 1.5, 2.2, "concat\nC + 4\nchannels", "note", fontsize=10)
    arrow(ax, (12.6, 4.8), (13.1, 8.65), "to the\ndecoder", fontsize=9, offset=(0.75, -0.3))
    legend(
        ax,
        {"learned layers of F": "F", "tensors": "data", "no weights": "note"},
        loc="lower right",
    )
    save(fig, path)


FIGURES = {"nb06_mask_network.svg": draw_mask_network}
