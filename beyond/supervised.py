r"""The supervised comparison of the paper's Figure 4: the *same* mask network F, trained with the
ground-truth masks of k labelled images (cross-entropy), same preprocessing, same evaluation.

.. math:: \mathcal L = -\frac{1}{|\Omega|}\sum_{p} \log M^{y_p}(I)_p
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_

from redo_lite.config import Config
from redo_lite.data import ImageFolderData
from redo_lite.evaluation import evaluate
from redo_lite.nets import MaskNet


def train_supervised(
    cfg: Config, data: ImageFolderData, k: int, steps: int = 300, seed: int = 0, batch: int = 16
) -> MaskNet:
    """F trained on the first k images of a seeded shuffle of ``data`` (which needs masks)."""
    if data.masks is None:
        raise ValueError(f"{data.root}/masks: supervised training needs ground-truth masks")
    g = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(data), generator=g)[:k]
    torch.manual_seed(seed)
    F = MaskNet(cfg)
    opt = torch.optim.Adam(F.parameters(), lr=cfg.lr_f, betas=cfg.betas, weight_decay=cfg.wd_f)
    for _ in range(steps):
        idx = chosen[torch.randint(len(chosen), (min(batch, k),), generator=g)]
        x, y = data.batch(idx)
        loss = F_.nll_loss(torch.log(F(x).clamp(min=1e-6)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return F.eval()


def supervised_curve(
    cfg: Config, train: ImageFolderData, test: ImageFolderData, ks, steps: int = 300, seed: int = 0
) -> list[dict]:
    """Test scores of supervised F for each number of labelled images in ``ks``."""
    rows = []
    for k in ks:
        F = train_supervised(cfg, train, k, steps, seed)
        s = evaluate(F, test)
        rows.append({"k": k, "iou": s["iou"], "iou_split": s["iou_split"], "acc": s["acc"]})
    return rows
