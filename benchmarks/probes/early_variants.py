"""Two changes to ReDO's training that need code, not a setting, tried on the first steps of a run:

* ``--delta-reads composite``: δ reads each composite Î_k (the real image with region k redrawn)
  and predicts z_k from it, as the paper's Algorithm 1 writes the information-conservation term,
  instead of reading the fully generated image Σ_k G_k(M^k, z_k) (the official code, and
  ``redo_lite.step.train_step``). A region parked as a faint tint can hide z_k in the generated
  image, where nothing else is drawn; on top of a real image it cannot.
* ``--keep D`` (or ``DZ``, ``DGZ``): a collapse restart rebuilds F and the other networks but keeps
  these, with their optimiser states (the official code rebuilds everything), so that a new F
  meets a critic that already knows the real images.

Everything else is ``python -m redo_lite train``: the preset, ``--set`` overrides, the run folder,
its log. By steps, every attempt counted (as ``benchmarks/c2mnist_cpu.py`` counts them), ReDO
alone:

    python3 benchmarks/probes/early_variants.py --data data/c2mnist32 --out RUN --seed 4 \\
        --steps 400 [--delta-reads composite] [--keep D] [--set KEY=VALUE ...]

Read a run's evaluations with ``benchmarks/probes/runs_table.py RUN`` or its ``metrics.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from redo_lite.config import get_preset  # noqa: E402
from redo_lite.losses import hinge_d_fake, hinge_d_real, hinge_g, z_loss  # noqa: E402
from redo_lite.step import redraw  # noqa: E402
from redo_lite.train import Trainer  # noqa: E402


def step_delta_reads_composite(nets, opts, x_gen, x_real, z, lambda_z):
    """``redo_lite.step.train_step`` with one line changed: δ reads every composite Î_k and its
    prediction of z_k (its k-th head) is compared with z_k (Algorithm 1, line 6)."""
    D, Z = nets["D"], nets["Z"]
    for opt in opts.values():
        opt.zero_grad(set_to_none=True)
    masks, drawn, fakes = redraw(nets, x_gen, z)
    loss_g = hinge_g(D(fakes))
    b, n = z.shape[:2]
    pred = Z(fakes).view(b, n, n, -1)  # composite k's prediction of every z_j
    own = torch.arange(n, device=z.device)
    # L_z = λ_z · mean((δ_k(Î_k) - z_k)²): composite k answers for its own region's code
    loss_z = z_loss(pred[:, own, own], z, lambda_z)
    (loss_g + loss_z).backward()
    for k in "FGZ":
        opts[k].step()
    opts["D"].zero_grad(set_to_none=True)
    with torch.no_grad():
        fakes = redraw(nets, x_gen, z)[2]
    loss_real = hinge_d_real(D(x_real))
    loss_real.backward()
    loss_fake = hinge_d_fake(D(fakes))
    loss_fake.backward()
    opts["D"].step()
    return {
        "loss_g": loss_g.item(),
        "loss_z": loss_z.item(),
        "loss_d": (loss_real + loss_fake).item(),
    }


class KeepingTrainer(Trainer):
    """A Trainer whose restart keeps the networks named in ``keep`` (and their optimisers)."""

    keep = ""

    def _fresh(self) -> None:
        old = getattr(self, "nets", None)
        old_opts = getattr(self, "opts", None)
        super()._fresh()
        if old is None or not self.keep:
            return
        for k in self.keep:  # in place: the wrappers _fresh built hold the same modules
            self.nets[k].load_state_dict(old[k].state_dict())
            self.opts[k].load_state_dict(old_opts[k].state_dict())


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=400, help="every attempt's steps counted")
    ap.add_argument("--preset", default="c2mnist-cpu")
    ap.add_argument("--delta-reads", choices=["generated", "composite"], default="generated")
    ap.add_argument("--keep", default="", help="networks a restart keeps: letters of DGZ")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    if set(a.keep) - set("DGZ"):
        ap.error(f"--keep {a.keep!r}: letters of D, G and Z only (F is what a restart rebuilds)")
    torch.set_num_threads(1)
    cfg = get_preset(a.preset).override(["self_train_steps=0", *a.set])
    step = step_delta_reads_composite if a.delta_reads == "composite" else None
    trainer = type("Probe", (KeepingTrainer,), {"keep": a.keep})(
        cfg, a.data, a.out, seed=a.seed, progress=False, **({"step_fn": step} if step else {})
    )
    try:
        summary = trainer.fit(steps=a.steps, callback=lambda t: t.total_steps >= a.steps)
    finally:
        trainer.close()
    print(
        f"{a.out}: {trainer.total_steps} steps, {trainer.restarts} restart(s), best validation "
        f"IoU {summary['best']:.3f} (delta reads the {a.delta_reads} image; a restart keeps "
        f"{a.keep or 'nothing'})"
    )
    return summary


if __name__ == "__main__":
    main()
