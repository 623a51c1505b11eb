"""Notebook 01: how one colored-2-MNIST image is painted, and its three colour distributions."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from .common import arrow, box, canvas, legend, picture, save

# the label colours of redo_lite.viz.PALETTE (0 background, 1 even digit, 2 odd digit)
LABEL = {0: "#1a1a1a", 1: "#f2991a", 2: "#33b3f2"}
RGB = {0: (0.10, 0.10, 0.10), 1: (0.95, 0.60, 0.10), 2: (0.20, 0.70, 0.95)}


def colour_ranges(path):
    fig, ax = canvas(13.5, 5.2, "colored-2-MNIST's colours: three ranges that never overlap")
    x0, x1 = 1.0, 8.5  # the value axis [0, 1]

    def at(v):
        return x0 + v * (x1 - x0)

    rows = [
        ("background", 0, 0.33, 0.66, "R := G"),
        ("even digit", 1, 0.0, 0.33, "G := B  (dark)"),
        ("odd digit", 2, 0.66, 1.0, "R := B  (bright)"),
    ]
    for r, (name, lab, lo, hi, tie) in enumerate(rows):
        y = 3.7 - 1.1 * r
        grey = str((lo + hi) / 2)  # the band's middle intensity
        ax.add_patch(
            Rectangle((at(lo), y - 0.3), at(hi) - at(lo), 0.6, facecolor=grey, edgecolor="#333333")
        )
        ax.add_patch(Rectangle((-2.2, y - 0.2), 0.4, 0.4, facecolor=LABEL[lab], edgecolor="#333"))
        ax.text(-1.6, y, f"{name} (label {lab})", ha="left", va="center", fontsize=10)
        ax.text(
            at(1.0) + 0.3,
            y,
            f"each channel ~ U({lo:g}, {hi:g}),\nthen {tie}",
            ha="left",
            va="center",
            fontsize=10,
        )
    ax.plot([at(0), at(1)], [0.75, 0.75], color="#333333", lw=1.2)
    for v in (0, 0.33, 0.66, 1):
        ax.plot([at(v), at(v)], [0.68, 0.82], color="#333333", lw=1.2)
        ax.text(at(v), 0.45, f"{v:g}", ha="center", va="top", fontsize=10)
    ax.text(
        at(0.5),
        0.0,
        "value of a colour channel (0 black, 1 full intensity); bars shaded at their middle value",
        ha="center",
        fontsize=10,
    )
    ax.text(
        -2.2,
        4.55,
        "square: the region's colour in every label map of the course",
        ha="left",
        fontsize=9,
        style="italic",
    )
    ax.set_xlim(-2.4, 13.0)
    save(fig, path)


def _toy(ax, x, y, size, rgb_of):
    """A 12x12 toy image at (x, y): background, an even digit, an odd digit painted over it."""
    lab = np.zeros((12, 12), int)
    lab[2:9, 2:4] = 1
    lab[7:9, 2:7] = 1  # an "L" (even digit), painted first
    lab[4:11, 6:8] = 2
    lab[4:6, 6:10] = 2  # a "7" (odd digit), painted over it
    img = np.array([rgb_of[k] for k in range(3)])[lab]
    picture(ax, img, x - size / 2, y - size / 2, size)


def painting(path):
    fig, ax = canvas(17.5, 5.0, "Painting one colored-2-MNIST image (and its label map)")
    y = 2.7
    steps = [
        (1.9, "draw three colours\n(background, even, odd)"),
        (5.3, "fill the image with the\nbackground colour;\nlabel map: all 0"),
        (
            8.9,
            "paint the first digit\n(random order, random place)\nimage: its colour; label: its id",
        ),
        (
            12.7,
            "paint the second digit over it:\nwhere they overlap it wins,\n"
            "in the image AND the label map",
        ),
    ]
    for i, (x, text) in enumerate(steps):
        box(ax, x, y, 3.1 if i < 2 else 3.5, 1.6, text, "data", fontsize=9.5)
    for a, b in zip(steps[:-1], steps[1:], strict=True):
        arrow(ax, (a[0] + 1.55, y), (b[0] - 1.75, y))
    photo = {0: (0.5, 0.5, 0.4), 1: (0.1, 0.25, 0.25), 2: (0.9, 0.8, 0.9)}
    _toy(ax, 15.9, 3.75, 1.5, photo)
    _toy(ax, 15.9, 1.65, 1.5, RGB)
    ax.text(17.0, 3.75, "image", va="center", fontsize=10)
    ax.text(17.0, 1.65, "label\nmap", va="center", fontsize=10)
    arrow(ax, (14.45, 3.2), (15.1, 3.6))
    arrow(ax, (14.45, 2.2), (15.1, 1.8))
    ax.text(
        8.0,
        0.4,
        "one digit is even (label 1), the other odd (label 2); either may hide part of the other",
        ha="center",
        fontsize=10,
        style="italic",
    )
    legend(
        ax,
        {
            "label 0: background": LABEL[0],
            "label 1: even digit": LABEL[1],
            "label 2: odd digit": LABEL[2],
        },
        loc="upper left",
    )
    ax.set_xlim(0, 17.8)
    ax.set_ylim(0, 5.0)
    save(fig, path)


FIGURES = {"nb01_colour_ranges.svg": colour_ranges, "nb01_painting.svg": painting}
