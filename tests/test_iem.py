import pytest
import torch
import torch.nn.functional as F_
from torchvision.transforms.functional import gaussian_blur

from beyond.baselines import centre_box
from beyond.iem import (
    blur,
    iem,
    inpaint,
    inpainting_error,
    majority,
    start_labels,
)
from redo_lite.metrics import score


def discs(b=4, s=32, n_discs=1, seed=0):
    """Flat discs (radius 0.18 s) on a textured background: per-pixel colour noise around a random
    colour. One disc at a random place near the middle, or two side by side (labels 1, 2)."""
    g = torch.Generator().manual_seed(seed)
    x = (
        torch.rand(b, 3, 1, 1, generator=g) * 0.6
        - 0.3
        + 0.6 * (torch.rand(b, 3, s, s, generator=g) - 0.5)
    )
    gt = torch.zeros(b, s, s, dtype=torch.long)
    yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
    colours = torch.tensor([[0.8, -0.7, 0.2], [-0.6, 0.7, 0.9]])
    for i in range(b):
        for k in range(n_discs):
            if n_discs == 1:
                cy, cx = (torch.rand(2, generator=g) * 0.3 + 0.35) * s
            else:
                cy, cx = 0.5 * s, (0.3 + 0.4 * k) * s
            inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= (0.18 * s) ** 2
            x[i][:, inside] = colours[k][:, None]
            gt[i][inside] = k + 1
    return x, gt


def onehot(labels, n=2):
    return F_.one_hot(labels, n).permute(0, 3, 1, 2).float()


def test_iem_finds_a_flat_disc_on_texture():
    x, gt = discs()
    box = score(centre_box(x, 0.6), gt, 2)["iou"]
    assert score(iem(x, 2), gt, 2)["iou"] > 0.9 > box
    assert score(iem(x, 2, lam=0), gt, 2)["iou"] > 0.9  # the inpainting error alone does it


def test_iem_with_three_regions_finds_two_discs():
    x, gt = discs(n_discs=2)
    assert score(iem(x, 3), gt, 3)["iou"] > 0.9


def test_output_shape_dtype_and_labels():
    x, _ = discs(b=3, s=24)
    x = x[..., :20]  # not square
    for n in (2, 3):
        pred = iem(x, n, iters=5)
        assert pred.shape == (3, 24, 20) and pred.dtype == torch.long
        assert 0 <= pred.min() and pred.max() < n


def test_iem_is_deterministic():
    x, _ = discs(n_discs=2)
    assert torch.equal(iem(x, 3), iem(x, 3))


@pytest.mark.parametrize("value", [-1.0, 0.3, 1.0])
def test_a_flat_image_keeps_the_smoothed_start(value):
    """Nothing to predict, nothing to gain: no pixel moves (float rounding is not a gain)."""
    x = torch.full((2, 3, 32, 32), value)
    for n in (2, 3):
        history = []
        pred = iem(x, n, history=history)
        assert torch.equal(pred, majority(start_labels(2, 32, 32, n), n))
        assert len(history) == 1  # stopped at the first iteration that changed nothing
    u = (x + 1) / 2
    assert torch.isfinite(inpainting_error(u, onehot(start_labels(2, 32, 32, 2)), 1.25)).all()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="B,3,H,W"):
        iem(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="at least 2"):
        iem(torch.zeros(1, 3, 8, 8), regions=1)
    with pytest.raises(ValueError, match="one value per image"):
        iem(torch.zeros(2, 3, 8, 8), error_fn=lambda x, m, s: (x[:, None] - m[:, :, None]).sum())


def test_blur_is_torchvisions_gaussian_blur():
    x = torch.rand(2, 3, 20, 17)
    for sigma in (1.0, 2.0):
        k = 2 * round(2 * sigma) + 1
        assert torch.allclose(blur(x, sigma), gaussian_blur(x, [k, k], [sigma, sigma]), atol=1e-6)


def test_inpaint_uses_only_the_known_pixels():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 16, 16, generator=g)
    known = torch.zeros(1, 1, 16, 16)
    known[..., :, :8] = 1
    other = x.clone()
    other[..., :, 8:] = torch.rand(1, 3, 16, 8, generator=g)  # change only the unknown pixels
    assert torch.allclose(inpaint(x, known, 2.0), inpaint(other, known, 2.0))
    flat = torch.full((1, 3, 16, 16), 0.4)  # a flat known part predicts its own colour everywhere
    assert torch.allclose(inpaint(flat, known, 2.0), torch.full((1, 1, 3, 16, 16), 0.4))


def test_inpainting_error_is_the_mean_error_of_each_region_from_the_rest():
    x, gt = discs(b=2)
    u, masks = (x + 1) / 2, onehot(gt)
    expected = torch.zeros(2)
    for k in range(2):
        pred = inpaint(u, 1 - masks[:, k : k + 1], 1.25)[:, 0]  # region k from the rest
        err = (u - pred).abs().mean(1)  # B, H, W
        for i in range(2):
            expected[i] += err[i][gt[i] == k].mean()
    assert torch.allclose(inpainting_error(u, masks, 1.25), expected, atol=1e-5)


# Two mistakes a learner makes in inpainting_error, and what they do.
def from_itself(x, masks, sigma):
    """Mistake: each region inpainted from its own pixels (known = M_k, not 1 - M_k)."""
    err = (x[:, None] - inpaint(x, masks, sigma)).abs().mean(2)
    return ((masks * err).sum((2, 3)) / masks.sum((2, 3)).clamp(min=1)).sum(1)


def over_image(x, masks, sigma):
    """Mistake: the error summed over the region but divided by the image's pixel count."""
    err = (x[:, None] - inpaint(x, 1 - masks, sigma)).abs().mean(2)
    return (masks * err).mean((2, 3)).sum(1)


def test_the_true_mask_beats_eroded_and_dilated_ones_and_the_mistakes_differ():
    """The paper's argument: shrink the object and its rim is predicted from object pixels; grow
    it and the background's rim is. Either way the inpainting error falls."""
    x, gt = discs()
    u, fg = (x + 1) / 2, gt.float()[:, None]
    eroded = (1 - F_.max_pool2d(1 - fg, 3, 1, 1))[:, 0].long()
    dilated = F_.max_pool2d(fg, 3, 1, 1)[:, 0].long()
    true, ero, dil = (inpainting_error(u, onehot(m), 1.25) for m in (gt, eroded, dilated))
    assert (true > ero).all() and (true > dil).all()
    # inpainting a region from itself: tiny errors, and the dilated mask wins
    mine = from_itself(u, onehot(gt), 1.25)
    assert (mine < 0.3 * true).all()
    assert (from_itself(u, onehot(dilated), 1.25) > mine).all()
    # on its own (no colour-spread term) the mistaken objective loses the disc
    assert score(iem(x, 2, lam=0, error_fn=from_itself), gt, 2)["iou"] < 0.5
    # dividing by the image's pixel count weighs each region by its area: a different number
    area = onehot(gt).mean((2, 3))  # B, 2: share of the image
    per_region = torch.stack([inpainting_error(u, onehot(gt)[:, k : k + 1], 1.25) for k in (0, 1)])
    assert torch.allclose(over_image(u, onehot(gt), 1.25), (per_region.T * area).sum(1), atol=1e-5)
    assert not torch.allclose(over_image(u, onehot(gt), 1.25), true, atol=1e-2)


def test_history_records_every_iteration():
    x, _ = discs(b=2)
    history = []
    iem(x, 2, iters=4, history=history)
    assert len(history) == 4 and all(h.shape == (2, 32, 32) for h in history)


def test_benchmark_prints_every_method_on_both_data_sets(tiny_c2mnist, tmp_path, capsys):
    from conftest import load_script

    from data_prep.shapes import build

    shapes = tmp_path / "shapes16"
    build(shapes, size=16, seed=0, n_train=4, n_val=4, n_test=6)
    bench = load_script("benchmarks/iem.py")
    bench.SIGMA_SCALES, bench.LAM_SCALES = (1.0, 2.4), (1.0,)  # a smaller grid: 4 runs, not 24
    out = bench.main(
        ["--c2mnist", str(tiny_c2mnist), "--shapes", str(shapes), "--size", "16"]
        + ["--images", "6", "--tune-images", "4"]
    )
    text = capsys.readouterr().out
    assert "RESULT " in text and "chosen:" in text
    c2, sh = out["colored-2-MNIST"], out["textured-shapes"]
    assert "GrabCut" not in c2["methods"] and "GrabCut" in sh["methods"]  # n = 2 only
    for res in (c2, sh):
        assert res["images"] == 6 and set(res["chosen"]) == {"sigma", "smooth", "lam"}
        assert {"IEM, paper recipe", "IEM, chosen on val", "k-means on colour"} <= set(
            res["methods"]
        )
        for row in res["methods"].values():
            assert 0 <= row["iou"] <= 1 and row["seconds"] >= 0
    assert len(c2["two_regions"]) == 3
