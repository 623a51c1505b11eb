"""Notebook 11: ReDO's idea next to IEM's (an object can be redrawn on its own, vs an object cannot
be predicted from the rest of the image), and a map of the methods the notebook compares: what
each learns from, and how many labels it uses."""

from __future__ import annotations

from matplotlib.patches import Patch, Rectangle

from .common import COLOURS, arrow, box, canvas, legend, save


def _panel(ax, y0, h, text):
    ax.add_patch(Rectangle((0.2, y0), 16.6, h, facecolor="#fbfbfb", edgecolor="#999999"))
    ax.text(0.45, y0 + h - 0.4, text, fontsize=12, fontweight="bold", va="center")


def iem_vs_redo(path):
    fig, ax = canvas(17, 12.2, "Two definitions of an object: ReDO's and IEM's")
    # ------------------------------------------------------------------ ReDO (top)
    top = 6.4
    _panel(ax, top, 5.4, "ReDO: an object is what can be redrawn on its own")
    y = top + 2.6
    box(ax, 1.3, y, 1.8, 1.1, "image I", "data")
    box(ax, 3.6, y, 1.1, 1.1, "F", "F", fontsize=14)
    arrow(ax, (2.2, y), (3.05, y))
    box(ax, 5.9, y, 2.0, 1.1, "masks $M^k$", "data")
    arrow(ax, (4.15, y), (4.9, y))
    box(ax, 8.5, y, 1.5, 1.1, "$G_k$", "G", fontsize=13)
    box(ax, 8.5, y + 1.65, 0.8, 0.5, "$z_k$", "note", fontsize=10)
    arrow(ax, (8.5, y + 1.4), (8.5, y + 0.55))
    arrow(ax, (6.9, y), (7.75, y))
    box(ax, 11.2, y, 2.4, 1.1, "region k redrawn,\nthe rest kept", "data", fontsize=10)
    arrow(ax, (9.25, y), (10.0, y))
    box(ax, 13.9, y, 1.1, 1.1, "D", "D", fontsize=14)
    arrow(ax, (12.4, y), (13.35, y))
    ax.text(15.4, y, "real\nor\nredrawn?", ha="center", va="center", fontsize=10, style="italic")
    ax.text(
        8.5,
        top + 0.55,
        "learned: F, every $G_k$ and D are trained together on the whole data set, and F is then\n"
        "one network that segments any image in one forward pass; its regions mean the same "
        "thing everywhere",
        ha="center",
        fontsize=10,
    )
    # ------------------------------------------------------------------ IEM (bottom)
    bot = 0.3
    _panel(ax, bot, 5.6, "IEM: an object is what the rest of the image cannot predict")
    y = bot + 3.1
    box(ax, 1.3, y, 1.8, 1.1, "image X", "data")
    box(ax, 4.0, y, 2.2, 1.1, "masks $M_k$\n(start: a square)", "data", fontsize=10)
    arrow(ax, (2.2, y), (2.9, y))
    box(ax, 7.0, y, 2.4, 1.1, "known pixels\n$1 - M_k$", "data", fontsize=10)
    arrow(ax, (5.1, y), (5.8, y))
    box(ax, 9.9, y, 2.0, 1.1, "inpainter φ\n(a fixed blur)", COLOURS["fixed"], fontsize=10)
    arrow(ax, (8.2, y), (8.9, y))
    box(
        ax,
        13.2,
        y,
        3.2,
        1.1,
        "error inside $M_k$\n$\\|M_k \\odot (X - \\phi)\\|_1 / \\|M_k\\|_1$",
        "loss",
        fontsize=10,
    )
    arrow(ax, (10.9, y), (11.6, y))
    arrow(ax, (13.2, y - 0.55), (4.0, y - 0.55), rad=-0.25, text="", colour="#c0392b")
    ax.text(
        8.6,
        y - 2.1,
        "maximise: move boundary pixels to the region whose error grows most (gradient), "
        "then a 3x3 majority vote",
        ha="center",
        fontsize=10,
        color="#c0392b",
    )
    ax.text(
        8.5,
        bot + 0.35,
        "nothing learned: every image is segmented on its own, by greedy steps (150 in the "
        "paper);\n"
        "nothing ties region k of one image to region k of another",
        ha="center",
        fontsize=10,
    )
    handles = [
        Patch(facecolor=COLOURS.get(c, c), edgecolor="#333333", label=t)
        for t, c in (
            ("mask network F (learned)", "F"),
            ("region generator $G_k$ (learned)", "G"),
            ("discriminator D (learned)", "D"),
            ("fixed, not learned", COLOURS["fixed"]),
            ("objective", "loss"),
            ("tensors", "data"),
        )
    ]
    ax.legend(
        handles=handles,
        ncol=3,
        loc="upper center",
        bbox_to_anchor=(8.5, 0.25),
        bbox_transform=ax.transData,
        frameon=False,
        fontsize=10,
    )
    ax.set_ylim(-1.1, 12.2)
    save(fig, path)


def method_map(path):
    fig, ax = canvas(17, 10.4, "What each method learns from, and what it is told")
    # a 2 x 2 table: columns = what is shared between images, rows = labels used
    x0, x1, x2, y0, y1, y2 = 2.2, 9.4, 16.6, 0.6, 6.0, 9.2
    for x in (x0, x1, x2):
        ax.plot([x, x], [y0, y2], color="#999999", lw=1.2)
    for y in (y0, y1, y2):
        ax.plot([x0, x2], [y, y], color="#999999", lw=1.2)
    ax.text(
        (x0 + x1) / 2,
        y2 + 0.35,
        "each image on its own",
        ha="center",
        fontsize=12,
        fontweight="bold",
    )
    ax.text(
        (x1 + x2) / 2,
        y2 + 0.35,
        "learned from the whole data set",
        ha="center",
        fontsize=12,
        fontweight="bold",
    )
    ax.text(
        1.4,
        (y0 + y1) / 2,
        "no labels",
        rotation=90,
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
    )
    ax.text(
        1.4,
        (y1 + y2) / 2,
        "labelled\nmasks",
        rotation=90,
        ha="center",
        va="center",
        fontsize=12,
        fontweight="bold",
    )
    entries = [
        (3.9, 4.5, "centred box", "objects sit in the middle", COLOURS["fixed"]),
        (7.7, 4.5, "k-means on colour", "a region is one colour", COLOURS["fixed"]),
        (
            3.9,
            2.0,
            "GrabCut",
            "told a box around the object;\none colour model per region",
            COLOURS["fixed"],
        ),
        (7.7, 2.0, "IEM", "the rest of the image cannot\npredict the object", COLOURS["fixed"]),
        (11.3, 3.3, "ReDO", "an object can be redrawn on\nits own (a GAN)", "F"),
        (14.8, 3.3, "IEM + SegNet", "a network trained on\nIEM's masks", "F"),
        (13.0, 7.6, "supervised F", "ReDO's F trained with\ncross-entropy on k images", "loss"),
    ]
    for x, y, name, what, kind in entries:
        box(ax, x, y, 3.3, 1.7, "", kind)
        ax.text(x, y + 0.42, name, ha="center", va="center", fontsize=11, fontweight="bold")
        ax.text(x, y - 0.28, what, ha="center", va="center", fontsize=8.5)
    ax.text(
        (x0 + x1) / 2,
        (y1 + y2) / 2,
        "(interactive segmentation: a person\nmarks every image; not compared here)",
        ha="center",
        va="center",
        fontsize=9.5,
        style="italic",
        color="#666666",
    )
    legend(
        ax,
        {
            "nothing learned": COLOURS["fixed"],
            "learned without labels": "F",
            "learned from labels": "loss",
        },
        loc="upper left",
    )
    ax.get_legend().set_bbox_to_anchor((x0, y0 - 0.1), transform=ax.transData)
    ax.set_ylim(-1.4, 10.2)
    save(fig, path)


FIGURES = {
    "nb11_iem_vs_redo.svg": iem_vs_redo,
    "nb11_method_map.svg": method_map,
}

if __name__ == "__main__":  # PNG copies to look at: python -m tools.diagrams.nb11_where_redo_stands
    for name, draw in FIGURES.items():
        draw(f"/tmp/{name[:-4]}.png")
