"""Notebook 00: the map of the course, each notebook coloured by the network it builds."""

from __future__ import annotations

from .common import arrow, box, canvas, legend, save

# (number, title, what it builds: a COLOURS key)
PIECES = [
    ("01", "the data", "data"),
    ("02", "generative\nprocess", "data"),
    ("03", "redrawing\na region", "data"),
    ("04", "hinge loss,\nD", "D"),
    ("05", "information\nconservation, δ", "Z"),
    ("06", "mask\nnetwork F", "F"),
    ("07", "region\ngenerators G_k", "G"),
]
WHOLE = [
    ("08", "training\n(your step)", "loss"),
    ("09", "evaluation", "loss"),
    ("10", "Flowers at 128 px\n(GPU)", "loss"),
    ("11", "where ReDO\nstands", "note"),
]


def draw(path):
    fig, ax = canvas(17.5, 7.4, "The course: twelve notebooks, 00 to 11")
    w, h, gap = 2.1, 1.25, 0.35
    xs = [1.35 + i * (w + gap) for i in range(len(PIECES))]
    box(ax, xs[0], 6.3, w, 0.8, "00 setup check", "note", fontsize=10)
    ax.text(
        xs[1] - w / 2,
        6.3,
        "build the pieces, one notebook each, on colored-2-MNIST (CPU)",
        ha="left",
        va="center",
        fontsize=11,
        style="italic",
    )
    y1, y2 = 4.5, 1.6
    arrow(ax, (xs[0], 5.9), (xs[0], y1 + h / 2))
    for i, (num, title, kind) in enumerate(PIECES):
        box(ax, xs[i], y1, w, h, f"{num}\n{title}", kind, fontsize=9.5)
        if i:
            arrow(ax, (xs[i - 1] + w / 2, y1), (xs[i] - w / 2, y1))
    # from the last piece down to the first notebook that puts them together
    ax.plot([xs[-1], xs[-1], xs[0]], [y1 - h / 2, 3.05, 3.05], color="#333333", lw=1.4)
    arrow(ax, (xs[0], 3.05), (xs[0], y2 + h / 2))
    for i, (num, title, kind) in enumerate(WHOLE):
        box(ax, xs[i], y2, w, h, f"{num}\n{title}", kind, fontsize=9.5)
        if i:
            arrow(ax, (xs[i - 1] + w / 2, y2), (xs[i] - w / 2, y2))
    ax.text(
        (xs[0] + xs[1]) / 2,
        y2 + 0.85,
        "train it, judge it (CPU)",
        ha="center",
        fontsize=11,
        style="italic",
    )
    ax.text(
        (xs[2] + xs[3]) / 2,
        y2 + 0.85,
        "scale it, place it",
        ha="center",
        fontsize=11,
        style="italic",
    )
    legend(
        ax,
        {
            "data and the generative process": "data",
            "discriminator D": "D",
            "z-encoder δ": "Z",
            "mask network F": "F",
            "region generators G_k": "G",
            "all four networks together": "loss",
            "set-up, comparisons": "note",
        },
        loc="lower right",
    )
    save(fig, path)


FIGURES = {"nb00_course_map.svg": draw}
