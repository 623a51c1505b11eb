"""Notebook 03: the redraw pipeline (Eq. 5): F's masks, one region redrawn by G_k, judged by D."""

from __future__ import annotations

from .common import arrow, box, canvas, legend, save


def redraw_pipeline(path):
    fig, ax = canvas(17.2, 7.4, "Redrawing region k (Eq. 5): the signal that trains F")
    y = 3.9
    box(ax, 1.2, y, 1.8, 1.1, "image I\n(real)", "data")
    box(ax, 3.4, y, 1.1, 1.1, "F", "F", fontsize=14)
    arrow(ax, (2.1, y), (2.85, y))
    box(ax, 5.6, y + 1.3, 1.9, 0.9, "$M^k$\n(region k)", "data", fontsize=10)
    box(ax, 5.6, y - 1.3, 1.9, 0.9, "$1 - M^k$\n(everything else)", "data", fontsize=10)
    arrow(ax, (3.95, y + 0.2), (4.65, y + 1.2))
    arrow(ax, (3.95, y - 0.2), (4.65, y - 1.2))
    box(ax, 7.1, y + 2.75, 0.8, 0.5, "$z_k$", "note", fontsize=10)
    box(ax, 8.3, y + 1.3, 1.5, 0.9, "$G_k$", "G", fontsize=13)
    arrow(ax, (6.55, y + 1.3), (7.55, y + 1.3))
    arrow(ax, (7.3, y + 2.5), (7.9, y + 1.75))
    box(ax, 10.5, y + 1.3, 2.2, 0.9, "$G_k(M^k, z_k)$\nnew pixels, 0 outside", "data", fontsize=9)
    arrow(ax, (9.05, y + 1.3), (9.4, y + 1.3))
    box(ax, 8.3, y - 1.3, 1.5, 0.9, "$(1 - M^k) \\odot I$\nkept pixels", "data", fontsize=9)
    arrow(ax, (6.55, y - 1.3), (7.55, y - 1.3))
    # the image's own pixels go to the kept part
    ax.plot([1.2, 1.2, 8.3], [y - 0.55, 1.3, 1.3], color="#333333", lw=1.2)
    arrow(ax, (8.3, 1.3), (8.3, y - 1.75))
    box(ax, 12.3, y, 0.8, 0.8, "+", "note", fontsize=16)
    arrow(ax, (11.6, y + 0.85), (12.1, y + 0.4))
    arrow(ax, (9.05, y - 1.3), (12.1, y - 0.4))
    box(ax, 14.0, y, 1.8, 1.1, "composite\n$\\hat I_k$", "data", fontsize=10)
    arrow(ax, (12.7, y), (13.1, y))
    box(ax, 16.0, y, 1.1, 1.1, "D", "D", fontsize=14)
    arrow(ax, (14.9, y), (15.45, y))
    box(ax, 16.0, y + 2.3, 1.6, 0.8, "other real\nimages", "data", fontsize=9)
    arrow(ax, (16.0, y + 1.9), (16.0, y + 0.55))
    ax.text(
        16.0,
        y - 1.0,
        "a score:\nreal or\nredrawn?",
        ha="center",
        va="top",
        fontsize=9,
        style="italic",
    )
    ax.text(
        14.0,
        y - 1.25,
        "one composite per region:\nn per image (official code)",
        ha="center",
        fontsize=9,
        style="italic",
    )
    ax.text(
        8.5,
        0.45,
        "Right masks: the composite looks real.  Wrong masks: a redrawn half-object "
        "or a square of new colour, and D sees it.",
        ha="center",
        fontsize=10,
    )
    legend(
        ax,
        {
            "mask network F": "F",
            "region generator $G_k$": "G",
            "discriminator D": "D",
            "tensors": "data",
        },
        loc="upper left",
    )
    ax.set_ylim(0.2, 7.4)
    save(fig, path)


FIGURES = {"nb03_redraw_pipeline.svg": redraw_pipeline}
