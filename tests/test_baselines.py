import torch
from conftest import tiny_config

from beyond.baselines import centre_box, grabcut, kmeans_colour
from redo_lite.metrics import score


def picture(b=3, s=32):
    """A dark background, a bright centred square (the object) and, for n=3, a mid-grey bar."""
    x = torch.full((b, 3, s, s), -0.8)
    gt = torch.zeros(b, s, s, dtype=torch.long)
    x[:, :, 8:24, 8:24] = torch.tensor([0.9, 0.2, 0.1])[:, None, None]
    gt[:, 8:24, 8:24] = 1
    return x, gt


def test_centre_box_scores_one_on_a_centred_object():
    x, gt = picture()
    assert score(centre_box(x, 0.5), gt, 2)["iou"] == 1.0


def test_kmeans_separates_flat_colours():
    x, gt = picture()
    x[:, :, 26:30, 2:30] = 0.1
    gt[:, 26:30, 2:30] = 2
    assert score(kmeans_colour(x, 3), gt, 3)["iou"] == 1.0


def test_grabcut_finds_a_contrasting_object():
    x, gt = picture()
    x = x + 0.05 * torch.randn_like(x)  # GrabCut fits colour models: give it texture
    assert score(grabcut(x, 0.8), gt, 2)["iou"] > 0.8
    flat = torch.zeros(1, 3, 16, 16)  # degenerate input falls back to the box
    assert grabcut(flat, 0.5)[0].sum() == 64


def test_supervised_f_learns_from_a_few_labels(tiny_c2mnist):
    from beyond.supervised import supervised_curve
    from redo_lite.data import ImageFolderData

    cfg = tiny_config(lr_f=1e-3, f_channels=16, f_downs=0)  # full resolution: strokes are 1 px wide
    train = ImageFolderData(tiny_c2mnist, "train", 16, 3, need_masks=True)
    test = ImageFolderData(tiny_c2mnist, "test", 16, 3, need_masks=True)
    rows = supervised_curve(cfg, train, test, ks=[16], steps=80)
    untrained = supervised_curve(cfg, train, test, ks=[16], steps=0)
    assert rows[0]["k"] == 16 and rows[0]["iou"] > 0.5 > untrained[0]["iou"]


def test_without_the_baselines_extra_each_baseline_says_what_to_install(monkeypatch):
    import importlib.util

    import pytest

    from beyond import baselines

    real = importlib.util.find_spec

    def find_spec(name, *args):  # as if the baselines extra were not installed
        return None if name in ("sklearn", "cv2") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    x, _ = picture(b=1)
    with pytest.raises(ModuleNotFoundError, match=r"need scikit-learn, which .*\[baselines\]"):
        kmeans_colour(x, 2)
    with pytest.raises(ModuleNotFoundError, match=r"need opencv-python-headless, which"):
        grabcut(x)
    with pytest.raises(ModuleNotFoundError) as e:
        baselines.require()
    assert str(e.value).count("\n") == 0
    assert "scikit-learn and opencv-python-headless" in str(e.value)
    assert centre_box(x).shape == (1, 32, 32)  # needs neither
    monkeypatch.undo()
    baselines.require()  # installed here (the dev extra includes the baselines extra)
