"""Notebook 04: power iteration, and what a spectrally normalised layer does at every forward."""

from __future__ import annotations

from .common import COLOURS, arrow, box, canvas, legend, save


def power_iteration(path):
    fig, ax = canvas(16.5, 7.0, "Spectral normalisation: σ(W) by power iteration, then W / σ(W)")
    # left: the iteration
    ax.text(
        4.0, 6.1, "power iteration (your exercise)", ha="center", fontsize=12, fontweight="bold"
    )
    box(ax, 1.4, 4.4, 2.0, 0.9, "u  (rows)\nstart: all equal", "data", fontsize=9)
    box(ax, 6.6, 4.4, 2.0, 0.9, "v  (columns)", "data", fontsize=9)
    v_step = "$v \\leftarrow W^\\top u \\,/\\, \\|W^\\top u\\|$"
    arrow(ax, (2.4, 4.6), (5.6, 4.6), v_step, rad=-0.25, offset=(0, 0.45))
    arrow(
        ax,
        (5.6, 4.2),
        (2.4, 4.2),
        "$u \\leftarrow W v \\,/\\, \\|W v\\|$",
        rad=-0.25,
        offset=(0, -0.95),
    )
    ax.text(
        3.6,
        2.35,
        "repeat: u and v turn towards\nthe top singular vectors",
        ha="center",
        fontsize=9.5,
        style="italic",
    )
    box(ax, 4.0, 1.2, 3.0, 0.8, "$\\sigma(W) \\approx u^\\top W v$", COLOURS["sigma"], fontsize=11)
    # the estimate, once the steps are done: down from v, clear of the labels
    ax.plot([6.6, 6.6], [3.95, 1.2], color="#333333", lw=1.2)
    arrow(ax, (6.6, 1.2), (5.55, 1.2))
    ax.text(6.75, 2.5, "after the\nlast step", ha="left", va="center", fontsize=9, style="italic")
    # right: the layer
    ax.text(
        12.5,
        6.1,
        "a spectrally normalised layer, every forward pass",
        ha="center",
        fontsize=12,
        fontweight="bold",
    )
    box(ax, 9.8, 4.4, 1.8, 0.9, "raw weight\nW (learned)", "data", fontsize=9)
    box(ax, 12.5, 4.4, 2.2, 0.9, "one power-iteration\nstep (u kept)", COLOURS["sigma"], fontsize=9)
    box(ax, 15.2, 4.4, 1.8, 0.9, "$W / \\sigma(W)$", "data", fontsize=10)
    arrow(ax, (10.7, 4.4), (11.4, 4.4))
    arrow(ax, (13.6, 4.4), (14.3, 4.4))
    arrow(ax, (12.9, 4.85), (12.1, 4.85), rad=1.6)
    ax.text(13.1, 5.4, "u from the last call", ha="left", fontsize=9, style="italic")
    box(ax, 12.5, 2.5, 2.6, 0.9, "convolution of D\n(its weight matrix: σ = 1)", "D", fontsize=9)
    arrow(ax, (15.2, 3.95), (13.8, 2.7))
    ax.text(
        12.5,
        1.2,
        "the weight W is learned; only its scale is taken away",
        ha="center",
        fontsize=9.5,
        style="italic",
    )
    legend(
        ax,
        {"tensors": "data", "the σ estimate": COLOURS["sigma"], "discriminator D": "D"},
        loc="lower left",
    )
    save(fig, path)


FIGURES = {"nb04_spectral_norm.svg": power_iteration}
