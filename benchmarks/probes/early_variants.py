"""Changes to ReDO's training that need code, not a setting, tried on the first steps of a run:

* ``--delta-reads composite``: δ reads each composite Î_k (the real image with region k redrawn)
  and predicts z_k from it, as the paper's Algorithm 1 writes the information-conservation term,
  instead of reading the fully generated image Σ_k G_k(M^k, z_k) (the official code, and
  ``redo_lite.step.train_step``). A region parked as a faint tint can hide z_k in the generated
  image, where nothing else is drawn; on top of a real image it cannot.
* ``--keep D`` (or ``DZ``, ``DGZ``): a collapse restart rebuilds F and the other networks but keeps
  these, with their optimiser states (the official code rebuilds everything), so that a new F
  meets a critic that already knows the real images.
* ``--slow-f RATE@STEPS``: F at RATE for the first STEPS steps of every attempt, then at the
  preset's ``lr_f`` (c2mnist-cpu: 4e-4; with 2e-4 the earlier preset's first attempts collapsed
  less, and took longer to find the digits).
* ``--d-histogram``: D's score plus a small head on the image's colour histogram (8 soft bins a
  channel, the square root of each bin's share of the pixels). A redraw that erases a digit
  removes a colour mode from the image, which this head sees at once and D's sum-pooled trunk
  does not (``benchmarks/probes/critic_probe.py``).

Everything else is ``python -m redo_lite train``: the preset, ``--set`` overrides, the run folder,
its log. By steps, every attempt counted (as ``benchmarks/c2mnist_cpu.py`` counts them), ReDO
alone:

    python3 benchmarks/probes/early_variants.py --data data/c2mnist32 --out RUN --seed 4 \\
        --steps 400 [--delta-reads composite] [--keep D] [--slow-f 2e-4@300] [--d-histogram] \\
        [--set KEY=VALUE ...]

Read a run's evaluations with ``benchmarks/probes/runs_table.py RUN`` or its ``metrics.jsonl``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from unittest import mock

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from redo_lite import step  # noqa: E402
from redo_lite.config import get_preset  # noqa: E402
from redo_lite.nets import linear  # noqa: E402
from redo_lite.process import redraw_all  # noqa: E402
from redo_lite.step import make_optimizers  # noqa: E402
from redo_lite.train import Autocast, Trainer  # noqa: E402


def step_delta_reads_composite(nets, opts, x_gen, x_real, z, lambda_z):
    """``redo_lite.step.train_step`` itself, with what δ reads swapped: the composites Î_k in place
    of the fully generated image, and δ's prediction of z_k taken from composite k (its k-th head,
    Algorithm 1, line 6). Nothing else in the step changes."""
    b, n = z.shape[:2]
    own = torch.arange(n, device=z.device)
    seen = {}

    def generators(masks, codes):  # G as the step calls it, remembering the masks it was given
        seen["masks"] = masks
        return nets["G"](masks, codes)

    def composites(drawn):  # what `assemble` hands δ: every Î_k, not Σ_k G_k(M^k, z_k)
        return redraw_all(x_gen, seen["masks"], drawn).flatten(0, 1)

    def delta(images):  # composite k answers for its own region's code: B, n, z_dim
        return nets["Z"](images).view(b, n, n, -1)[:, own, own]

    swapped = {**nets, "G": generators, "Z": delta}
    with mock.patch.object(step, "assemble", composites):
        return step.train_step(swapped, opts, x_gen, x_real, z, lambda_z)


class HistogramCritic(torch.nn.Module):
    """D(x) + h(√hist(x)): the plain D beside a head on the colour histogram."""

    def __init__(self, d: torch.nn.Module, bins: int = 8, width: int = 64, gain: float = 0.8):
        super().__init__()
        self.d = d
        self.register_buffer("centres", (torch.arange(bins) + 0.5) / bins)
        self.sigma = 0.5 / bins
        self.head = torch.nn.Sequential(
            linear(3 * bins, width, gain, sn=True), torch.nn.ReLU(), linear(width, 1, gain)
        )

    def histogram(self, x: torch.Tensor) -> torch.Tensor:
        """B, 3·bins: each channel's soft histogram over the pixels, as shares (x in [-1, 1])."""
        v = ((x.float() + 1) / 2).flatten(2)[..., None]  # B, 3, HW, 1
        w = torch.exp(-((v - self.centres) ** 2) / (2 * self.sigma**2))
        w = w / w.sum(-1, keepdim=True).clamp_min(1e-8)
        return w.mean(2).flatten(1)

    def forward(self, x):
        return self.d(x) + self.head(self.histogram(x).clamp_min(0).sqrt()).squeeze(1).to(x.dtype)


class KeepingTrainer(Trainer):
    """A Trainer whose restart keeps the networks named in ``keep`` (and their optimisers)."""

    keep = ""
    histogram = False
    slow_f = None  # (rate, steps): F's learning rate for an attempt's first steps

    def _f_rate(self) -> None:
        slow = self.slow_f is not None and self.step < self.slow_f[1]
        for group in self.opts["F"].param_groups:
            group["lr"] = self.slow_f[0] if slow else self.cfg.lr_f

    def after_step(self, losses, bar) -> None:
        super().after_step(losses, bar)
        self._f_rate()  # the rate the next step uses (a restart's _fresh sets it again)

    def _fresh(self) -> None:
        old = getattr(self, "nets", None)
        old_opts = getattr(self, "opts", None)
        super()._fresh()
        if self.histogram:  # D with its histogram head, its optimiser and the step's wrapper
            self.nets["D"] = HistogramCritic(self.nets["D"]).to(self.device)
            self.opts["D"] = make_optimizers(self.cfg, self.nets)["D"]
            self.step_nets["D"] = (
                Autocast(self.nets["D"], self.device.type) if self.amp else self.nets["D"]
            )
        self._f_rate()
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
    ap.add_argument("--d-histogram", action="store_true", help="D sees the colour histogram too")
    ap.add_argument("--slow-f", default=None, metavar="RATE@STEPS", help="e.g. 2e-4@300")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = ap.parse_args(argv)
    if set(a.keep) - set("DGZ"):
        ap.error(f"--keep {a.keep!r}: letters of D, G and Z only (F is what a restart rebuilds)")
    slow_f = None
    if a.slow_f:
        try:
            rate, steps = a.slow_f.split("@")
            slow_f = (float(rate), int(steps))
        except ValueError:
            ap.error(f"--slow-f {a.slow_f!r}: expected RATE@STEPS, e.g. 2e-4@300")
    torch.set_num_threads(1)
    cfg = get_preset(a.preset).override(["self_train_steps=0", *a.set])
    step = step_delta_reads_composite if a.delta_reads == "composite" else None
    probe = {"keep": a.keep, "histogram": a.d_histogram, "slow_f": slow_f}
    trainer = type("Probe", (KeepingTrainer,), probe)(
        cfg, a.data, a.out, seed=a.seed, progress=False, **({"step_fn": step} if step else {})
    )
    try:
        summary = trainer.fit(steps=a.steps, callback=lambda t: t.total_steps >= a.steps)
    finally:
        trainer.close()
    print(
        f"{a.out}: {trainer.total_steps} steps, {trainer.restarts} restart(s), best validation "
        f"IoU {summary['best']:.3f} (delta reads the {a.delta_reads} image; a restart keeps "
        f"{a.keep or 'nothing'}{'; D sees the colour histogram' if a.d_histogram else ''}"
        f"{f'; F at {slow_f[0]:g} for its first {slow_f[1]} steps' if slow_f else ''})"
    )
    return summary


if __name__ == "__main__":
    main()
