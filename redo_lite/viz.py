"""Pictures: label maps in colour, and the redraw grid of the paper's Figure 2 (as a tensor grid,
and as the titled figure with a legend that ``demo`` writes)."""

from __future__ import annotations

import torch
from torchvision.utils import make_grid

from .data import to_unit
from .process import redraw_all, sample_z

PALETTE = torch.tensor(
    [
        [0.10, 0.10, 0.10],
        [0.95, 0.60, 0.10],
        [0.20, 0.70, 0.95],
        [0.60, 0.90, 0.30],
        [0.90, 0.30, 0.60],
        [0.95, 0.95, 0.95],
    ]
)


def colorize(labels: torch.Tensor) -> torch.Tensor:
    """B,H,W integer label maps -> B,3,H,W colours in [0, 1], on the labels' device."""
    palette = PALETTE.to(labels.device)
    return palette[labels.long() % len(palette)].permute(0, 3, 1, 2)


def label_legend(ax, names, **kw):
    """A matplotlib legend on ``ax`` saying what each label colour means: ``names[k]`` for label k,
    in ``colorize``'s colours. ``kw`` goes to ``ax.legend`` (loc, bbox_to_anchor, title...)."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=PALETTE[k % len(PALETTE)].tolist(), edgecolor="#333333", label=name)
        for k, name in enumerate(names)
    ]
    return ax.legend(handles=handles, **{"fontsize": 8, **kw})


def grid_figure(rows, row_titles, col_titles=None, names=None, title="", tile_inches=1.3):
    """A matplotlib figure of image rows: ``rows`` is a list of B,3,H,W tensors in [0, 1] (the
    same B), drawn one above the other, each titled on the left (``row_titles``); ``col_titles``
    go under the columns; ``names`` adds a legend of label colours (``label_legend``)."""
    import matplotlib.pyplot as plt

    b, h, w = rows[0].shape[0], rows[0].shape[-2], rows[0].shape[-1]
    grid = make_grid(torch.cat([r.cpu() for r in rows]), nrow=b, padding=1, pad_value=1.0)
    fig, ax = plt.subplots(figsize=(tile_inches * b + 2.5, tile_inches * len(rows) * h / w + 0.6))
    ax.imshow(grid.permute(1, 2, 0).cpu().numpy(), interpolation="nearest")
    ax.set_yticks([(h + 1) * (i + 0.5) for i in range(len(rows))], row_titles)
    ax.set_xticks([(w + 1) * (i + 0.5) for i in range(b)], col_titles or [""] * b)
    ax.tick_params(length=0)
    if names:
        label_legend(ax, names, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title)
    return fig


@torch.no_grad()
def redraw_columns(
    nets: dict, images: torch.Tensor, gt: torch.Tensor | None = None, n_z: int = 4, seed: int = 0
) -> dict:
    """What the redraw pictures show, each B,3,H,W in [0, 1] on the CPU: ``input``, ``truth``
    (when ``gt`` is given), ``regions`` (F's argmax, coloured), and ``redraws[k][j]``: region k
    redrawn with the j-th of ``n_z`` noise draws (the same z down a column). Also ``pred``, F's
    argmax as B,H,W labels."""
    F, G = nets["F"], nets["G"]
    dev = next(F.parameters()).device
    x = images.to(dev)
    masks = F(x)
    n, b = masks.shape[1], x.shape[0]
    gen = torch.Generator().manual_seed(seed)
    pred = masks.argmax(1)
    out = {"input": to_unit(x).cpu(), "regions": colorize(pred).cpu(), "pred": pred.cpu()}
    if gt is not None:
        out["truth"] = colorize(gt).cpu()
    draws = [[] for _ in range(n)]
    for k in range(n):
        for _ in range(n_z):
            z = sample_z(b, n, G.z_dim, gen).to(dev)
            draws[k].append(to_unit(redraw_all(x, masks, G(masks, z))[:, k]).cpu())
    out["redraws"] = draws
    return out


def redraw_grid(
    nets: dict, images: torch.Tensor, gt: torch.Tensor | None = None, n_z: int = 4, seed: int = 0
) -> torch.Tensor:
    """One row per image: input | ground truth | predicted regions | region k redrawn with
    ``n_z`` different z_k, for every k. Returns an image grid (3,H,W) in [0, 1]."""
    c = redraw_columns(nets, images, gt, n_z, seed)
    cols = [c["input"]] + ([c["truth"]] if gt is not None else []) + [c["regions"]]
    cols += [draw for region in c["redraws"] for draw in region]
    tiles = torch.stack(cols, 1).flatten(0, 1)  # row-major: image by image
    return make_grid(tiles, nrow=len(cols), padding=1, pad_value=1.0)


def matched(pred: torch.Tensor, gt: torch.Tensor, n: int) -> tuple[torch.Tensor, list[int]]:
    """F's label maps renamed to the truth's labels by the one permutation that matches them best
    on these images (``metrics.score``), and that renaming: ``truth_of[k]`` is the truth's label
    of F's region k. pred, gt: B,H,W ints."""
    from .metrics import score

    perm = score(pred, gt, n)["permutation"]  # perm[g]: F's region for the truth's label g
    truth_of = [perm.index(k) for k in range(n)]
    return torch.tensor(truth_of)[pred.long()], truth_of


def redraw_figure(
    nets: dict,
    images: torch.Tensor,
    gt: torch.Tensor,
    names: list[str],
    n_z: int = 4,
    seed: int = 0,
    title: str = "",
):
    """The redraw grid as a figure that explains itself (a matplotlib Figure): titled column
    groups (input, truth, prediction, the redraws of each region) set apart; F's regions renamed
    to the truth's labels by the one permutation that matches them best on these images
    (``metrics.score``), so that a right prediction has the truth's colours; each redraw group
    framed in its region's colour; a legend naming the colours (``names[g]``: truth's label g)."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    c = redraw_columns(nets, images, gt, n_z, seed)
    n = len(c["redraws"])
    renamed, truth_of = matched(c["pred"], gt.cpu(), n)
    size = images.shape[-1]

    def column(tiles: list[torch.Tensor]):  # images down, draws across
        grid = make_grid(
            torch.stack(tiles, 1).flatten(0, 1), nrow=len(tiles), padding=2, pad_value=1.0
        )
        return grid[:, 2:-2, 2:-2].permute(1, 2, 0).numpy()  # white lines between the tiles

    groups = [("input", [c["input"]], None), ("truth", [c["truth"]], None)]
    groups.append(("prediction\n(F's regions)", [colorize(renamed)], None))
    for k in range(n):
        g = truth_of[k]
        head = f"redraws of region {k}\n({names[g]}, {n_z} noise draws)"
        groups.append((head, c["redraws"][k], PALETTE[g % len(PALETTE)].tolist()))
    b = images.shape[0]
    widths = [len(tiles) for _, tiles, _ in groups]
    fig, axes = plt.subplots(
        1,
        len(groups),
        figsize=(0.8 * sum(widths) + 0.3 * len(groups), 0.8 * b + 1.2),
        width_ratios=widths,
        squeeze=False,
        layout="compressed",  # no white band around the fixed-aspect images
    )
    fig.get_layout_engine().set(wspace=0.1)  # the column groups set apart
    for ax, (head, tiles, colour) in zip(axes[0], groups, strict=True):
        ax.imshow(column(tiles), interpolation="nearest")
        ax.set_title(head, fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_color(colour or "white")
            spine.set_linewidth(3 if colour else 0)
    rows = [(size + 2) * (i + 0.5) - 2 for i in range(b)]
    axes[0][0].set_yticks(rows, [str(i) for i in range(b)])
    axes[0][0].set_ylabel("test image")
    axes[0][0].tick_params(length=0)
    handles = [
        Patch(facecolor=PALETTE[g % len(PALETTE)].tolist(), edgecolor="#333333", label=name)
        for g, name in enumerate(names)
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=len(names),
        fontsize=9,
        frameon=False,
        title="colours in truth and prediction (F's regions matched to the truth's)",
        title_fontsize=9,
    )
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
