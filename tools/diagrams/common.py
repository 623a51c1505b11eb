"""Drawing blocks for the course's diagrams: boxes, arrows, labels, on a matplotlib canvas
measured in arbitrary units (x to the right, y up). Each notebook's module in this folder draws
its figures with these and ``save``; ``python tools/draw_diagrams.py`` redraws them all into
``notebooks/figures/``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle  # noqa: E402

# one palette for the whole course: the same thing has the same colour in every diagram
COLOURS = {
    "F": "#f2b950",  # the mask network
    "G": "#7fc8a9",  # the region generators
    "D": "#e58f8f",  # the discriminator
    "Z": "#9fb6e0",  # δ, the z-encoder
    "data": "#e8e8e8",  # images, masks, tensors
    "loss": "#c9a6e0",  # losses
    "note": "#ffffff",
    "sigma": "#fff0a8",  # the σ estimate of spectral norm (not one of the four networks)
    "grad": "#c0392b",  # gradients
    "disk": "#fdf1c7",  # files in a run folder
    "fixed": "#dccb9f",  # a fixed operation, nothing learned (IEM's blur inpainter)
}
plt.rcParams.update({"svg.hashsalt": "redo-course", "font.size": 11, "font.family": "DejaVu Sans"})


def canvas(width: float, height: float, title: str, scale: float = 0.9):
    """A blank figure ``width`` x ``height`` units, with a title; returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=(width * scale, height * scale))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=13, fontweight="bold")
    return fig, ax


def box(ax, x, y, w, h, text, kind="data", fontsize=11, **kw):
    """A rounded box centred at (x, y), filled with the colour of ``kind``; returns its centre."""
    patch = FancyBboxPatch(
        (x - w / 2, y - h / 2),
        w,
        h,
        boxstyle="round,pad=0.02,rounding_size=0.12",
        facecolor=COLOURS.get(kind, kind),
        edgecolor="#333333",
        linewidth=1.2,
        **kw,
    )
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, wrap=True)
    return x, y


def arrow(
    ax, start, end, text="", colour="#333333", style="-|>", rad=0.0, fontsize=10, offset=(0, 0.18)
):
    """An arrow from ``start`` to ``end`` (points), with an optional label near its middle."""
    a = FancyArrowPatch(
        start,
        end,
        arrowstyle=style,
        mutation_scale=14,
        color=colour,
        linewidth=1.4,
        connectionstyle=f"arc3,rad={rad}",
        shrinkA=2,
        shrinkB=2,
    )
    ax.add_patch(a)
    if text:
        mx, my = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, text, ha="center", va="bottom", fontsize=fontsize, color=colour)


def picture(ax, rgb, x0, y0, size, zorder=3, frame=False):
    """An image (H, W, 3 array of colours in [0, 1]) drawn pixel for pixel in the square of side
    ``size`` whose lower-left corner is (x0, y0), with a thin frame if asked."""
    ax.imshow(rgb, extent=(x0, x0 + size, y0, y0 + size), interpolation="nearest", zorder=zorder)
    if frame:
        ax.add_patch(
            Rectangle((x0, y0), size, size, fill=False, edgecolor="#333333", lw=1.0, zorder=3)
        )


def legend(ax, items: dict, loc="lower right"):
    """A legend of coloured patches, e.g. {"learned by ReDO": "F"} (COLOURS keys or colours)."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=COLOURS.get(v, v), edgecolor="#333333", label=k) for k, v in items.items()
    ]
    ax.legend(handles=handles, loc=loc, frameon=False, fontsize=10)


def save(fig, path: Path) -> Path:
    """Write the figure as SVG (no date, fixed ids: the same drawing gives the same file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix[1:], bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return path
