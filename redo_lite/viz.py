"""Pictures: label maps in colour, and the redraw grid of the paper's Figure 2."""

from __future__ import annotations

from pathlib import Path

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
    """B,H,W integer label maps -> B,3,H,W colours in [0, 1]."""
    return PALETTE[labels.long() % len(PALETTE)].permute(0, 3, 1, 2)


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
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_yticks([(h + 1) * (i + 0.5) for i in range(len(rows))], row_titles)
    ax.set_xticks([(w + 1) * (i + 0.5) for i in range(b)], col_titles or [""] * b)
    ax.tick_params(length=0)
    if names:
        label_legend(ax, names, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title)
    return fig


@torch.no_grad()
def redraw_grid(
    nets: dict, images: torch.Tensor, gt: torch.Tensor | None = None, n_z: int = 4, seed: int = 0
) -> torch.Tensor:
    """One row per image: input | ground truth | predicted regions | region k redrawn with
    ``n_z`` different z_k, for every k. Returns an image grid (3,H,W) in [0, 1]."""
    F, G = nets["F"], nets["G"]
    dev = next(F.parameters()).device
    x = images.to(dev)
    masks = F(x)
    n, b = masks.shape[1], x.shape[0]
    gen = torch.Generator().manual_seed(seed)
    cols = [to_unit(x)]
    if gt is not None:
        cols.append(colorize(gt).to(dev))
    cols.append(colorize(masks.argmax(1)))
    for k in range(n):
        for _ in range(n_z):
            z = sample_z(b, n, G.z_dim, gen).to(dev)
            cols.append(to_unit(redraw_all(x, masks, G(masks, z))[:, k]))
    tiles = torch.stack(cols, 1).flatten(0, 1).cpu()  # row-major: image by image
    return make_grid(tiles, nrow=len(cols), padding=1, pad_value=1.0)


def column_titles(n: int, n_z: int, with_gt: bool = True) -> list[tuple[str, int]]:
    """The redraw grid's column headings as (title, columns spanned), left to right."""
    head = [("input", 1)] + ([("ground truth", 1)] if with_gt else []) + [("regions", 1)]
    return head + [(f"region {k} redrawn", n_z) for k in range(n)]


def titled(grid: torch.Tensor, titles: list[tuple[str, int]], tile: int, scale: int = 3, pad=1):
    """A ``make_grid`` picture (3,H,W in [0, 1], tiles of ``tile`` px with ``pad`` px between them)
    enlarged ``scale`` times with nearest neighbour, under a white band that names each column
    group. Returns a PIL image."""
    from PIL import Image, ImageDraw, ImageFont

    big = torch.nn.functional.interpolate(grid[None], scale_factor=scale, mode="nearest")[0]
    body = Image.fromarray(big.mul(255).round().byte().permute(1, 2, 0).numpy())
    font = ImageFont.load_default(size=max(10, 4 * scale + 2))
    band = font.getbbox("Ag")[3] + 3 * scale
    out = Image.new("RGB", (body.width, body.height + band), "white")
    out.paste(body, (0, band))
    draw, col = ImageDraw.Draw(out), 0
    for text, span in titles:
        left = (pad + col * (tile + pad)) * scale
        right = (pad + (col + span) * (tile + pad) - pad) * scale
        draw.text(((left + right) / 2, band / 2), text, fill="black", font=font, anchor="mm")
        col += span
    return out


def redraw_picture(nets: dict, images, gt=None, n_z: int = 4, seed: int = 0, scale: int = 3):
    """The redraw grid with its column titles on it (a PIL image): what ``demo`` writes."""
    grid, tile = redraw_grid(nets, images, gt, n_z, seed), images.shape[-1]
    columns = (grid.shape[-1] - 1) // (tile + 1)  # make_grid's padding is 1 px
    n = (columns - (3 if gt is not None else 2)) // n_z
    return titled(grid, column_titles(n, n_z, gt is not None), tile, scale)


def save_redraw_grid(path, nets, images, gt=None, n_z=4, seed=0, scale: int = 3) -> None:
    """The redraw grid as a PNG with column titles, each pixel drawn ``scale`` times larger
    (written atomically: ``files.atomic_write``)."""
    from .files import atomic_write

    picture = redraw_picture(nets, images, gt, n_z, seed, scale)
    atomic_write(Path(path), lambda f: picture.save(f, format="PNG"))
