"""Everything that draws or scores takes networks on a device that is not the CPU: notebook 10's
section 5 (load_run on a device -> show_redraw_grid -> evaluate_run), ``segment``, ``evaluate``,
the z sweep and the z explorer, run on a device emulated on the CPU (tests/elsewhere.py), which
applies PyTorch's device rule as CUDA does. Each result equals the CPU's."""

import copy

import matplotlib
import numpy as np
import pytest
import torch
from elsewhere import Elsewhere, on_elsewhere
from PIL import Image

from redo_lite import viz
from redo_lite.config import get_preset
from redo_lite.data import ImageFolderData
from redo_lite.nets import build_nets
from redo_lite.run import evaluate_run, load_run, segment_folder
from redo_lite.train import Trainer

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tiny_run(tiny_c2mnist, tmp_path_factory):
    run = tmp_path_factory.mktemp("device") / "run"
    t = Trainer(get_preset("tiny"), tiny_c2mnist, run, seed=1, device="cpu", progress=False)
    t.fit(steps=2)
    t.close()
    return run


def test_the_emulated_device_catches_what_a_gpu_would():
    labels = torch.zeros(1, 2, 2, dtype=torch.long)
    with on_elsewhere() as dev:
        there = labels.to(dev)
        assert isinstance(there, Elsewhere) and there.device.type == "meta"
        with pytest.raises(RuntimeError, match="indices should be either on cpu"):
            viz.PALETTE[there]  # the palette on the CPU, the labels elsewhere
        with pytest.raises(RuntimeError, match="same device"):
            there.float() + torch.ones(1, 2, 2)
        with pytest.raises(TypeError, match="cpu"):
            there.numpy()
        assert (there.float() + torch.tensor(1.0)).cpu().tolist() == [[[1.0, 1.0], [1.0, 1.0]]]


def test_notebook_10_section_5_on_a_device(tiny_run, tiny_c2mnist, monkeypatch):
    """load_run(RUN, device) -> show_redraw_grid -> evaluate_run(device), as the notebook."""
    import matplotlib.pyplot as plt

    from course import show_redraw_grid

    monkeypatch.setattr(plt, "show", lambda: None)
    cfg, cpu_nets = load_run(tiny_run)
    peek = ImageFolderData(tiny_c2mnist, "val", cfg.size, cfg.regions)
    px, pgt = peek.batch(torch.arange(4))
    want_grid = viz.redraw_grid(cpu_nets, px, pgt, n_z=2)
    want_score = evaluate_run(tiny_run, tiny_c2mnist, "test")
    with on_elsewhere() as dev:
        _, nets = load_run(tiny_run, device=dev)
        assert next(nets["F"].parameters()).device.type == "meta"
        grid = viz.redraw_grid(nets, px, pgt, n_z=2)
        fig = show_redraw_grid(nets, px, pgt, n_z=2, title="on a device", names=["a", "b", "c"])
        score = evaluate_run(tiny_run, tiny_c2mnist, "test", device=dev)
        picture = viz.redraw_figure(nets, px, pgt, names=["a", "b", "c"], n_z=2)
    plt.close(fig)
    plt.close(picture)
    assert type(grid) is torch.Tensor and grid.device.type == "cpu"
    torch.testing.assert_close(grid, want_grid, atol=1e-5, rtol=0)
    assert picture.axes  # the demo's figure drew on the device's networks
    assert score["images"] == want_score["images"]
    for k in ("acc", "iou", "iou_split"):
        assert score[k] == pytest.approx(want_score[k], abs=1e-6)


def test_segment_on_a_device(tiny_run, tiny_c2mnist, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for i, p in enumerate(sorted((tiny_c2mnist / "images").iterdir())[:3]):
        Image.open(p).convert("RGB").resize((24, 16)).save(images / f"{i}.png")
    segment_folder(tiny_run, images, tmp_path / "cpu")
    with on_elsewhere() as dev:
        written = segment_folder(tiny_run, images, tmp_path / "dev", device=dev)
    assert len(written) == 3
    for p in written:
        a = np.asarray(Image.open(p))
        assert a.shape == (16, 24)
        assert (a == np.asarray(Image.open(tmp_path / "cpu" / p.name))).all()


def test_the_z_sweep_and_the_z_explorer_on_a_device():
    pytest.importorskip("ipywidgets")
    from course.notebook import z_explorer, z_sweep

    cfg = get_preset("tiny")
    torch.manual_seed(0)
    nets = {k: v.eval() for k, v in build_nets(cfg).items()}
    image = torch.rand(3, cfg.size, cfg.size) * 2 - 1
    want, labels = z_sweep(nets, image, dims=(0,), values=(-1.0, 1.0))
    with on_elsewhere() as dev:
        there = {k: copy.deepcopy(v).to(dev) for k, v in nets.items()}
        got, _ = z_sweep(there, image, dims=(0,), values=(-1.0, 1.0))
        box = z_explorer(there, image, dims=2)
        picture, (region, *sliders) = box.children[0], box.children[1].children
        first = picture.value
        sliders[0].value = 2.5  # a slider moved: the picture is redrawn on the device
        region.value = 1
    assert labels == [f"region {k}, z[0]" for k in range(cfg.regions)]
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    assert first[:4] == b"\x89PNG" and picture.value[:4] == b"\x89PNG"
    assert picture.value != first


def test_evaluate_takes_a_device_on_the_command_line(tiny_run, tiny_c2mnist):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "redo_lite", "evaluate", "--run", str(tiny_run)]
    cmd += ["--data", str(tiny_c2mnist), "--split", "test", "--device"]
    r = subprocess.run(cmd + ["cpu"], cwd=root, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.splitlines()[-1])
    assert got["iou"] == pytest.approx(evaluate_run(tiny_run, tiny_c2mnist, "test")["iou"])
    r = subprocess.run(cmd + ["tpu"], cwd=root, env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "--device 'tpu': expected cpu, cuda, cuda:N or mps" in r.stderr
