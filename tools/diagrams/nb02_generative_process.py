"""Notebook 02: the generative process of ReDO (Eq. 1, Eq. 2): composition, drawing, assembling."""

from __future__ import annotations

from .common import arrow, box, canvas, legend, save


def generative_process(path):
    fig, ax = canvas(16.0, 7.6, "The generative process (Eq. 1 and Eq. 2): compose, draw, assemble")
    # the three steps, as columns
    for x, title in ((4.6, "1 · composition"), (9.0, "2 · drawing"), (13.2, "3 · assembling")):
        ax.text(x, 6.9, title, ha="center", fontsize=12, fontweight="bold")
    box(ax, 1.2, 3.6, 1.8, 1.1, "image I\n3×H×W", "data")
    box(ax, 3.2, 3.6, 1.2, 1.1, "F", "F", fontsize=14)
    arrow(ax, (2.1, 3.6), (2.6, 3.6))
    box(ax, 3.2, 5.9, 2.6, 0.8, "prior p(M)  (§3.2)", "note", fontsize=10, linestyle="--")
    ax.text(
        3.2,
        5.2,
        "ReDO replaces the prior\nwith F(I)  (§3.3)",
        ha="center",
        va="center",
        fontsize=9,
        style="italic",
    )
    rows = [(5.0, "1"), (3.6, "2"), (2.2, "n")]
    for y, k in rows:
        box(ax, 5.4, y, 1.6, 0.9, f"mask $M^{k}$", "data", fontsize=10)
        arrow(ax, (3.8, 3.6), (4.6, y))
        box(ax, 6.95, y + 0.62, 0.7, 0.4, f"$z_{k}$", "note", fontsize=10)
        box(ax, 8.6, y, 1.5, 0.9, f"$G_{k}$", "G", fontsize=12)
        arrow(ax, (6.2, y), (7.85, y))
        arrow(ax, (7.3, y + 0.55), (7.85, y + 0.3))
        box(ax, 10.7, y, 1.9, 0.9, f"$V^{k}$ = new pixels\nfor region {k}", "data", fontsize=9)
        arrow(ax, (9.35, y), (9.75, y))
        arrow(ax, (11.65, y), (12.5, 3.6))
    ax.text(5.4, 2.9, "⋮", ha="center", fontsize=14)
    ax.text(8.6, 2.9, "⋮", ha="center", fontsize=14)
    box(ax, 13.2, 3.6, 1.3, 1.1, "$\\sum_k M^k \\odot V^k$", "data", fontsize=10)
    # the masks also go to the assembling step
    ax.plot([5.4, 5.4, 13.2, 13.2], [1.75, 0.9, 0.9, 3.05], color="#333333", lw=1.0, ls=":")
    ax.text(
        9.3,
        0.55,
        "the same masks weigh the regions when they are put back together",
        ha="center",
        fontsize=9,
        style="italic",
    )
    box(ax, 15.0, 3.6, 1.5, 1.1, "new image\n$G_F(I, z)$", "data", fontsize=10)
    arrow(ax, (13.85, 3.6), (14.25, 3.6))
    legend(
        ax,
        {
            "mask network F (notebook 06)": "F",
            "region generators $G_k$ (notebook 07)": "G",
            "tensors: images, masks, pixels": "data",
        },
        loc="lower left",
    )
    ax.set_ylim(0.2, 7.6)
    save(fig, path)


FIGURES = {"nb02_generative_process.svg": generative_process}
