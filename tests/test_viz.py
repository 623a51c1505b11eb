"""The redraw picture carries its column titles on it."""

import numpy as np
import torch
from conftest import tiny_config
from PIL import Image

from redo_lite.nets import build_nets
from redo_lite.viz import column_titles, redraw_grid, redraw_picture, save_redraw_grid


def test_column_titles_span_every_column():
    titles = column_titles(n=3, n_z=4)
    assert [t for t, _ in titles[:3]] == ["input", "ground truth", "regions"]
    assert [t for t, _ in titles[3:]] == [f"region {k} redrawn" for k in range(3)]
    assert sum(span for _, span in titles) == 3 + 3 * 4
    assert column_titles(n=2, n_z=1, with_gt=False)[1] == ("regions", 1)


def test_the_picture_is_the_grid_under_a_band_of_titles(tmp_path):
    torch.manual_seed(0)
    cfg = tiny_config()
    nets = {k: v.eval() for k, v in build_nets(cfg).items()}
    x = torch.rand(2, 3, cfg.size, cfg.size) * 2 - 1
    gt = torch.randint(0, cfg.regions, (2, cfg.size, cfg.size))
    grid = redraw_grid(nets, x, gt, n_z=2)
    pic = redraw_picture(nets, x, gt, n_z=2, scale=3)
    band = pic.height - grid.shape[1] * 3
    assert pic.width == grid.shape[2] * 3 and band > 10
    body = np.asarray(pic)[band:]
    expected = grid.repeat_interleave(3, 1).repeat_interleave(3, 2).mul(255).round().byte()
    assert np.array_equal(body, expected.permute(1, 2, 0).numpy())  # the grid, untouched
    head = np.asarray(pic)[:band]
    cols = (grid.shape[2] - 1) // (cfg.size + 1)
    width = (cfg.size + 1) * 3
    inked = [(head[:, c * width : (c + 1) * width] < 128).any() for c in range(3)]
    assert cols == 3 + cfg.regions * 2 and all(inked)  # a title over input, truth, regions
    save_redraw_grid(tmp_path / "p.png", nets, x, gt, n_z=2)
    assert Image.open(tmp_path / "p.png").size == pic.size
