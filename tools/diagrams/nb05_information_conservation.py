"""Notebook 05: the information-conservation loop (Eq. 7): z -> G_k -> Σ_k G_k -> δ -> ẑ."""

from __future__ import annotations

from .common import arrow, box, canvas, legend, save


def information_loop(path):
    fig, ax = canvas(16.5, 8.4, "Information conservation (Eq. 7): δ must read every $z_k$ back")
    y = 4.4
    box(
        ax,
        1.3,
        y,
        2.0,
        1.1,
        "$z = (z_1, \\dots, z_n)$\n$\\sim \\mathcal{N}(0, I)$",
        "note",
        fontsize=10,
    )
    box(ax, 1.3, y + 2.0, 1.6, 0.8, "masks $M^k$\nfrom F", "F", fontsize=9)
    for dy, k in ((1.0, "1"), (-1.0, "n")):
        box(ax, 4.4, y + dy, 1.6, 0.9, f"$G_{k}(M^{k}, z_{k})$", "G", fontsize=10)
        arrow(ax, (2.3, y), (3.6, y + dy))
        arrow(ax, (2.1, y + 2.0), (3.6, y + dy + 0.2))
        arrow(ax, (5.2, y + dy), (6.7, y + 0.2 * dy))
    ax.text(4.4, y, "⋮", ha="center", va="center", fontsize=14)
    box(ax, 7.7, y, 2.0, 1.1, "$\\sum_k G_k(M^k, z_k)$\nonly generated\npixels", "data", fontsize=9)
    box(ax, 10.3, y, 1.2, 1.1, "δ", "Z", fontsize=15)
    arrow(ax, (8.7, y), (9.7, y))
    box(ax, 12.4, y, 1.6, 1.1, "$\\hat z$: n × |z|\nnumbers", "data", fontsize=10)
    arrow(ax, (10.9, y), (11.6, y))
    box(
        ax,
        15.0,
        y,
        2.6,
        1.2,
        "$\\mathcal{L}_z$ = λ · mean of\n$(\\hat z - z)^2$",
        "loss",
        fontsize=10,
    )
    arrow(ax, (13.2, y), (13.7, y))
    # z goes to the loss too
    ax.plot([1.3, 1.3, 15.0], [y - 0.55, 1.9, 1.9], color="#333333", lw=1.2)
    arrow(ax, (15.0, 1.9), (15.0, y - 0.6))
    ax.text(8.2, 2.05, "the same z is the target", ha="center", fontsize=9, style="italic")
    # the gradient goes back from the loss to δ, to every G_k (through the sum) and to F (through
    # the masks): one line along the top, one arrow down into each network it reaches
    grad, top = "#7a4fa0", y + 3.0
    ax.plot([15.0, 15.0, 1.3], [y + 0.6, top, top], color=grad, lw=1.4, ls=(0, (4, 3)))
    for x, y_end in ((10.3, y + 0.55), (4.4, y + 1.45), (1.3, y + 2.4)):
        arrow(ax, (x, top), (x, y_end), colour=grad)
    ax.text(
        8.2,
        top + 0.15,
        "gradient of $\\mathcal{L}_z$: to δ, to every $G_k$ (through the sum) and to F (through "
        "the masks)",
        ha="center",
        va="bottom",
        fontsize=9.5,
        color=grad,
    )
    ax.text(
        7.0,
        0.75,
        "If region k is empty, $M^k = 0$ and $G_k(M^k, z_k) = 0$: nothing of $z_k$ "
        "reaches the image,\nand δ must recover $z_k$ from an image that holds none of it.",
        ha="center",
        fontsize=9.5,
    )
    legend(
        ax,
        {"mask network F": "F", "region generators $G_k$": "G", "z-encoder δ": "Z", "loss": "loss"},
        loc="lower right",
    )
    save(fig, path)


FIGURES = {"nb05_information_loop.svg": information_loop}
