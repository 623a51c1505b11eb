"""--compile: a torch.compile'd run trains and follows the eager run (the D step calls D twice
before its update; spectral norm's in-place power iteration used to break the compiled backward)."""

import json

import pytest
from conftest import tiny_config

from redo_lite.train import Trainer

pytestmark = pytest.mark.slow  # the first compile takes a minute or more on a CPU


def train_rows(run):
    rows = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if r["kind"] == "train"]


def test_a_compiled_run_trains_and_matches_the_eager_run(tiny_c2mnist, tmp_path):
    # the smallest networks that still hold every kind of layer (spectral norm, attention-free)
    cfg = tiny_config(
        size=8,
        regions=3,
        z_dim=2,
        f_res_blocks=1,
        f_ppm_bins=(1, 2),
        batch=2,
        steps=3,
        eval_every=3,
        log_every=1,
        eval_images=4,
    )
    eager = Trainer(cfg, tiny_c2mnist, tmp_path / "eager", seed=4, progress=False)
    eager.fit()
    compiled = Trainer(
        cfg, tiny_c2mnist, tmp_path / "compiled", seed=4, progress=False, compile=True
    )
    out = compiled.fit()
    assert out["step"] == 3
    a, b = train_rows(tmp_path / "eager"), train_rows(tmp_path / "compiled")
    assert len(a) == len(b) == 3
    for ra, rb in zip(a, b, strict=True):
        for k in ("loss_g", "loss_z", "loss_d"):
            assert rb[k] == pytest.approx(ra[k], rel=1e-3, abs=1e-3), (k, ra, rb)
