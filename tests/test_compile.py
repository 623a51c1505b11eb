"""--compile: a torch.compile'd run trains and follows the eager run (the D step calls D twice
before its update; spectral norm's in-place power iteration used to break the compiled backward)."""

import json

import pytest
import torch
from conftest import tiny_config

from redo_lite.train import Trainer, TrainingError

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


def natural_step(nets, opts, x_gen, x_real, z, lambda_z):
    """Notebook 08's step written the natural way: D's hinge loss as one sum of its two D calls,
    one backward."""
    from redo_lite.losses import hinge_d, hinge_g, z_loss
    from redo_lite.process import assemble
    from redo_lite.step import redraw

    F, G, D, Z = (nets[k] for k in "FGDZ")
    for o in opts.values():
        o.zero_grad()
    masks, drawn, fakes = redraw(nets, x_gen, z)
    loss_g, loss_z = hinge_g(D(fakes)), z_loss(Z(assemble(drawn)), z, lambda_z)
    (loss_g + loss_z).backward()
    for k in "FGZ":
        opts[k].step()
    opts["D"].zero_grad()
    with torch.no_grad():
        fakes = redraw(nets, x_gen, z)[2]
    loss_d = hinge_d(D(x_real), D(fakes))
    loss_d.backward()
    opts["D"].step()
    return {"loss_g": loss_g.item(), "loss_z": loss_z.item(), "loss_d": loss_d.item()}


def test_a_natural_step_under_compile_is_told_what_to_change(tiny_c2mnist, tmp_path):
    """Two D calls before one backward: eager runs it; compiled, the Trainer stops with the reason
    and the change to make, not PyTorch's in-place error alone."""
    cfg = tiny_config(size=8, z_dim=2, f_res_blocks=1, f_ppm_bins=(1, 2), batch=2, steps=2)
    eager = Trainer(cfg, tiny_c2mnist, tmp_path / "eager", seed=4, progress=False,
                    step_fn=natural_step)  # fmt: skip
    assert eager.fit()["step"] == 2
    compiled = Trainer(cfg, tiny_c2mnist, tmp_path / "compiled", seed=4, progress=False,
                       step_fn=natural_step, compile=True)  # fmt: skip
    with pytest.raises(TrainingError, match=r"right after its D call.*or train without --compile"):
        compiled.fit()
