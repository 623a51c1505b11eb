"""The redraw picture explains itself: titled column groups, the prediction in the truth's colours
(matched by the best permutation), a legend, and labels coloured on their own device."""

import torch
from conftest import tiny_config

from redo_lite.nets import build_nets
from redo_lite.viz import PALETTE, colorize, matched, redraw_figure, redraw_grid


def test_regions_are_renamed_to_the_truths_labels_by_the_best_permutation():
    gt = torch.randint(0, 3, (4, 8, 8))
    pred = torch.tensor([2, 0, 1])[gt]  # F calls the background 2, the even digit 0, the odd 1
    renamed, truth_of = matched(pred, gt, 3)
    assert truth_of == [1, 2, 0] and torch.equal(renamed, gt)
    assert torch.equal(colorize(renamed), colorize(gt))  # a right prediction: the truth's colours


def test_colours_stay_on_the_labels_device():
    labels = torch.tensor([[[0, 1], [2, 7]]])
    out = colorize(labels)
    assert out.shape == (1, 3, 2, 2) and out.device == labels.device
    assert torch.equal(out[0, :, 1, 1], PALETTE[7 % len(PALETTE)])


def test_the_figure_names_its_columns_and_colours():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    torch.manual_seed(0)
    cfg = tiny_config()
    nets = {k: v.eval() for k, v in build_nets(cfg).items()}
    x = torch.rand(2, 3, cfg.size, cfg.size) * 2 - 1
    gt = torch.randint(0, cfg.regions, (2, cfg.size, cfg.size))
    names = [f"name {g}" for g in range(cfg.regions)]
    fig = redraw_figure(nets, x, gt, names, n_z=2, title="the model")
    heads = [ax.get_title() for ax in fig.axes]
    assert heads[:2] == ["input", "truth"] and heads[2].startswith("prediction")
    redraws = heads[3:]
    assert [h.split("\n")[0] for h in redraws] == [
        f"redraws of region {k}" for k in range(cfg.regions)
    ]
    assert sorted(h.split("(")[1].split(",")[0] for h in redraws) == sorted(names)
    widths = [ax.images[0].get_array().shape[1] for ax in fig.axes]
    assert widths[3] > 1.9 * widths[0]  # two redraws side by side in each group
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == names
    # the truth column is the truth in the palette's colours
    truth = torch.as_tensor(fig.axes[1].images[0].get_array()[: cfg.size, : cfg.size])
    assert torch.allclose(truth.permute(2, 0, 1).float(), colorize(gt[:1])[0], atol=1e-6)
    assert fig._suptitle.get_text() == "the model"
    plt.close(fig)
    grid = redraw_grid(nets, x, gt, n_z=2)  # the plain grid of notebook 08 is unchanged
    assert grid.shape[-1] == 1 + (3 + cfg.regions * 2) * (cfg.size + 1)
