"""The main job in one command: build colored-2-MNIST (offline), load the shipped checkpoint (or
train one), write a picture of input / ground truth / predicted regions / redraws, print Acc/IoU.

    python -m redo_lite demo [--train-minutes M] [--out demo]
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "c2mnist-cpu"


def run_demo(
    out="demo", data="data/c2mnist32", train_minutes: float | None = None, seed: int = 0
) -> dict:
    from .config import get_preset
    from .course import ensure_c2mnist
    from .data import ImageFolderData
    from .run import load_run
    from .evaluation import evaluate
    from .viz import save_redraw_grid

    out, data = Path(out), Path(data)
    cfg = get_preset("c2mnist-cpu")
    ensure_c2mnist(str(data), cfg.size)
    run = SHIPPED
    if train_minutes:
        from .train import Trainer

        run = out / "run"
        Trainer(cfg, data, run, seed=seed).fit(minutes=train_minutes)
    _, nets = load_run(run)
    test = ImageFolderData(data, "test", cfg.size, cfg.regions, need_masks=True)
    x, gt = test.batch(torch.arange(min(8, len(test))))
    out.mkdir(parents=True, exist_ok=True)
    save_redraw_grid(out / "redraws.png", nets, x, gt)
    scores = {"split": "test", **evaluate(nets["F"], test)}
    for k in ("iou_split_regions", "per_image_iou"):
        scores.pop(k)
    print(
        f"picture: {out / 'redraws.png'} (input | ground truth | predicted regions | redraws of each region)"
    )
    print(json.dumps({"run": str(run), **scores}))
    return scores
