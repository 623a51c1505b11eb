"""Notebook 10: the official run, and how it survives a lost Colab session: every 500 steps the
Trainer validates, keeps the best networks, may restart a collapsed run, and saves everything to
resume; a run folder on Google Drive outlives the machine."""

from __future__ import annotations

from matplotlib.patches import Rectangle

from .common import COLOURS, arrow, box, canvas, legend, save


def official_run(path):
    fig, ax = canvas(
        17, 10.6, "The official run: 40000 steps, a check every 500, a folder that survives"
    )
    # ---------------------------------------------------------------- the loop (left)
    ax.add_patch(Rectangle((0.2, 3.2), 9.6, 6.6, facecolor="#fbfbfb", edgecolor="#999999"))
    ax.text(
        0.45,
        9.45,
        "the Trainer, on the GPU (fp32 unless you opt in)",
        fontsize=11.5,
        fontweight="bold",
    )
    box(ax, 2.3, 8.2, 3.6, 1.0, "500 ReDO steps\n(two batches, fresh z)", "G", fontsize=10)
    box(ax, 2.3, 6.4, 3.6, 1.0, "validate: IoU on the\nvalidation split", "loss", fontsize=10)
    box(ax, 2.3, 4.5, 3.6, 1.0, "a region collapsed?\n(step ≤ 7000)", "D", fontsize=10)
    box(ax, 7.4, 6.4, 3.4, 1.0, "best so far?\n→ write best.pt", "loss", fontsize=10)
    box(ax, 7.4, 4.5, 3.4, 1.0, "restart: new seed,\nstep 0", "D", fontsize=10)
    arrow(ax, (2.3, 7.7), (2.3, 6.9))
    arrow(ax, (2.3, 5.9), (2.3, 5.0))
    arrow(ax, (4.1, 6.4), (5.7, 6.4))
    arrow(ax, (4.1, 4.5), (5.7, 4.5), text="yes")
    ax.text(4.4, 3.3, "after every check: save last.pt", fontsize=9.5, style="italic")
    ax.plot([0.5, 0.32, 0.32], [4.5, 4.5, 8.2], color="#333333", lw=1.3)
    arrow(ax, (0.32, 8.2), (0.52, 8.2))
    # a restart goes back into the loop: new networks, from step 0
    ax.plot([9.1, 9.5, 9.5, 2.3], [4.5, 4.5, 9.05, 9.05], color="#333333", lw=1.3)
    arrow(ax, (2.3, 9.05), (2.3, 8.7))
    ax.text(9.4, 7.4, "back to\nstep 0", ha="right", va="center", fontsize=8.5, style="italic")
    # ---------------------------------------------------------------- the run folder (right)
    ax.add_patch(Rectangle((11.0, 3.2), 5.8, 6.6, facecolor="#fffdf3", edgecolor="#b38f00"))
    ax.text(11.25, 9.45, "run folder (on Google Drive)", fontsize=11.5, fontweight="bold")
    files = [
        ("config.json", "the preset, written once"),
        ("metrics.jsonl", "one row per log, evaluation, restart"),
        ("best.pt", "networks best on validation"),
        ("last.pt", "everything, to resume exactly"),
    ]
    for i, (name, what) in enumerate(files):
        y = 8.4 - 1.3 * i
        box(ax, 12.7, y, 2.8, 0.8, name, COLOURS["disk"], fontsize=10)
        ax.text(12.7, y - 0.6, what, ha="center", fontsize=8.5, style="italic")
    arrow(ax, (9.1, 6.4), (11.3, 5.8))  # best.pt
    ax.plot([2.3, 2.3], [4.0, 3.55], color="#333333", lw=1.3)
    arrow(ax, (2.3, 3.55), (11.3, 4.0))  # last.pt, after every check
    # ---------------------------------------------------------------- sessions (bottom)
    y = 1.6
    box(ax, 2.3, y, 3.6, 1.0, "Colab session 1\nsteps 0 … s", "data", fontsize=10)
    box(ax, 8.5, y, 3.4, 1.0, "disconnect:\nthe machine is gone", "note", fontsize=10)
    box(
        ax, 14.3, y, 4.0, 1.0, "session 2: run the cells\nagain → resumes at s", "data", fontsize=10
    )
    arrow(ax, (4.1, y), (6.8, y))
    arrow(ax, (10.2, y), (12.3, y))
    arrow(ax, (14.3, y + 0.5), (14.3, 3.2), text="reads last.pt", offset=(1.0, 0.0))
    legend(
        ax,
        {
            "training": "G",
            "model selection": "loss",
            "collapse and restart": "D",
            "files that outlive the machine": COLOURS["disk"],
        },
        loc="upper left",
    )
    ax.get_legend().set_bbox_to_anchor((0.2, 0.9), transform=ax.transData)
    ax.set_ylim(-1.6, 10.4)
    save(fig, path)


FIGURES = {"nb10_official_run.svg": official_run}

if __name__ == "__main__":  # a PNG copy to look at: python -m tools.diagrams.nb10_official_run
    official_run("/tmp/nb10_official_run.png")
