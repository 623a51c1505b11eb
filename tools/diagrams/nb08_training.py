"""Notebook 08: the two updates of one training step (Algorithm 1, as the official code runs it)."""

from __future__ import annotations

from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, Rectangle

from .common import COLOURS, arrow, box, canvas, save


def _grad(ax, start, end, rad=0.0):
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=13,
            color=COLOURS["grad"],
            linewidth=1.6,
            linestyle=(0, (4, 3)),
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=2,
            shrinkB=2,
        )
    )


def _frozen(ax, x, y, w, h):
    """A dotted frame around a network that runs but is not stepped in this part."""
    ax.add_patch(
        Rectangle(
            (x - w / 2 - 0.12, y - h / 2 - 0.12),
            w + 0.24,
            h + 0.24,
            facecolor="none",
            edgecolor="#555555",
            linewidth=1.3,
            linestyle=":",
        )
    )


def _loss(ax, x, y, w, h, text, fontsize=10):
    """A loss box whose label is mathtext on one or two lines (no wrapping)."""
    box(ax, x, y, w, h, "", "loss")
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def draw_two_steps(path):
    fig, ax = canvas(17, 14.4, "One training step: two updates, one after the other")
    # ---------------------------------------------------------------- part 1 (top)
    top = 6.9
    ax.add_patch(Rectangle((0.2, top), 16.6, 7.0, facecolor="#fbfbfb", edgecolor="#999999"))
    ax.text(
        0.45,
        top + 6.6,
        "Part 1 · Algorithm 1, lines 1-9: F, every $G_k$ and δ learn",
        fontsize=12,
        fontweight="bold",
    )
    y = top + 3.6
    box(ax, 1.3, y, 1.7, 1.0, "$x_{gen}$\nB images", "data", fontsize=10)
    box(ax, 3.6, y, 1.4, 1.0, "F", "F", fontsize=13)
    box(ax, 5.9, y, 1.9, 1.0, "masks $M^k$", "data", fontsize=10)
    box(ax, 8.4, y, 1.6, 1.0, "$G_k(M^k, z_k)$", "G", fontsize=10)
    box(ax, 6.6, y - 1.9, 1.5, 0.7, "z ~ N(0, I)", "data", fontsize=9)
    box(ax, 11.0, y, 2.0, 1.0, "B·n composites\n$\\hat I_k$ (Eq. 5)", "data", fontsize=10)
    box(ax, 13.4, y, 1.2, 1.0, "D", "D", fontsize=13)
    _frozen(ax, 13.4, y, 1.2, 1.0)
    _loss(ax, 15.6, y, 2.0, 1.0, "$\\mathcal{L}_G =$\n$-\\mathrm{mean}\\ D(\\hat I)$")
    for a, b in ((2.15, 2.9), (4.3, 4.95), (6.85, 7.6), (9.2, 10.0), (12.0, 12.8), (14.0, 14.6)):
        arrow(ax, (a, y), (b, y))
    arrow(ax, (7.2, y - 1.55), (7.9, y - 0.5))
    arrow(ax, (1.3, y + 0.5), (11.0, y + 0.5), rad=-0.2)
    ax.text(6.2, y + 1.55, "the image, kept outside the redrawn region", fontsize=9, ha="center")
    # delta branch
    yd = top + 1.1
    box(ax, 9.7, yd, 2.0, 0.9, "$\\sum_k G_k(M^k, z_k)$", "data", fontsize=10)
    box(ax, 12.2, yd, 1.2, 0.9, "δ", "Z", fontsize=13)
    _loss(ax, 15.0, yd, 3.1, 0.9, "$\\mathcal{L}_z = \\lambda_z\\,\\mathrm{mean}(\\delta - z)^2$")
    arrow(ax, (8.7, y - 0.5), (9.4, yd + 0.45))
    arrow(ax, (10.7, yd), (11.6, yd))
    arrow(ax, (12.8, yd), (13.45, yd))
    # gradients of part 1
    _grad(ax, (15.6, y + 0.5), (3.6, y + 0.55), rad=0.3)
    _grad(ax, (14.2, yd - 0.45), (12.3, yd - 0.45), rad=-0.5)
    ax.text(
        9.6,
        top + 6.05,
        "∇($\\mathcal{L}_G + \\mathcal{L}_z$) reaches every $G_k$ and F, "
        "through D (D is not stepped)",
        fontsize=9.5,
        color=COLOURS["grad"],
        ha="center",
    )
    ax.text(
        9.7,
        top + 0.25,
        "∇$\\mathcal{L}_z$ reaches δ, and G and F through it",
        fontsize=9.5,
        color=COLOURS["grad"],
        ha="center",
    )
    ax.text(2.5, top + 0.6, "then: step F, G, δ", fontsize=11, fontweight="bold", ha="center")
    # ---------------------------------------------------------------- part 2 (bottom)
    base = 0.3
    ax.add_patch(Rectangle((0.2, base), 16.6, 6.2, facecolor="#fbfbfb", edgecolor="#999999"))
    ax.text(
        0.45,
        base + 5.8,
        "Part 2 · Algorithm 1, lines 10-16: D learns",
        fontsize=12,
        fontweight="bold",
    )
    y2 = base + 4.0
    box(ax, 1.3, y2, 1.7, 1.0, "same $x_{gen}$,\nsame z", "data", fontsize=10)
    box(ax, 3.6, y2, 1.4, 1.0, "F", "F", fontsize=13)
    _frozen(ax, 3.6, y2, 1.4, 1.0)
    box(ax, 6.1, y2, 1.6, 1.0, "$G_k$", "G", fontsize=13)
    _frozen(ax, 6.1, y2, 1.6, 1.0)
    ax.text(4.85, y2 + 0.85, "just updated, no gradient", fontsize=9.5, ha="center")
    box(ax, 9.0, y2, 2.4, 1.0, "composites again\n(constants)", "data", fontsize=10)
    box(
        ax,
        9.0,
        base + 1.5,
        2.4,
        1.0,
        "$x_{real}$: a second\nbatch of real images",
        "data",
        fontsize=10,
    )
    box(ax, 11.9, base + 2.75, 1.2, 1.0, "D", "D", fontsize=13)
    _loss(
        ax,
        14.7,
        base + 2.75,
        3.5,
        1.3,
        "$\\mathcal{L}_D = \\mathrm{mean}\\,\\max(0, 1 - D(x_{real}))$\n"
        "$+\\ \\mathrm{mean}\\,\\max(0, 1 + D(\\hat I))$",
        fontsize=9.5,
    )
    for a, b in ((2.15, 2.9), (4.3, 5.3), (6.9, 7.8)):
        arrow(ax, (a, y2), (b, y2))
    arrow(ax, (10.2, y2), (11.4, base + 3.15))
    arrow(ax, (10.2, base + 1.5), (11.4, base + 2.35))
    arrow(ax, (12.5, base + 2.75), (12.95, base + 2.75))
    _grad(ax, (14.7, base + 2.1), (12.0, base + 2.25), rad=-0.3)
    ax.text(
        13.6,
        base + 0.7,
        "∇$\\mathcal{L}_D$ reaches D only",
        fontsize=9.5,
        color=COLOURS["grad"],
        ha="center",
    )
    ax.text(2.5, base + 0.7, "then: step D", fontsize=11, fontweight="bold", ha="center")
    # ---------------------------------------------------------------- legend
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=COLOURS["F"], edgecolor="#333333", label="F, the mask network"),
        Patch(facecolor=COLOURS["G"], edgecolor="#333333", label="$G_k$, the region generators"),
        Patch(facecolor=COLOURS["D"], edgecolor="#333333", label="D, the discriminator"),
        Patch(facecolor=COLOURS["Z"], edgecolor="#333333", label="δ, the z-encoder"),
        Patch(facecolor=COLOURS["loss"], edgecolor="#333333", label="losses"),
        Line2D([], [], color="#333333", label="forward"),
        Line2D([], [], color=COLOURS["grad"], linestyle=(0, (4, 3)), label="gradient"),
        Patch(facecolor="none", edgecolor="#555555", linestyle=":", label="runs, not stepped"),
    ]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        ncol=4,
        frameon=False,
        fontsize=10,
    )
    save(fig, path)


FIGURES = {"nb08_two_step_training.svg": draw_two_steps}
