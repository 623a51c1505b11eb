"""Train a trained model on other data, with no collapse restarts (a restart would throw the
trained networks away). Everything else is an ordinary run: the same Trainer, the model selected on
the new data's validation split, a run folder that resumes.

Two starts: by default the networks come from RUN's ``best.pt`` (F, G and D; the z-encoder δ
starts fresh, as a shipped checkpoint leaves it out) with new optimisers; with ``--continue`` the
whole game goes on from RUN's ``last.pt``: every network, δ included, the averaged F and the
optimisers' moments, so that only the data changes.

    python tools/finetune.py --from checkpoints/c2mnist-cpu --data data/c2mnist32-mixval \\
        --out runs/finetune --minutes 15 --threads 1
    python tools/finetune.py --from runs/bench/seed1 --continue --data data/c2mnist32-mixval \\
        --out runs/mixed --minutes 30 --threads 1

How the shipped colored-2-MNIST model was made is in checkpoints/c2mnist-cpu/README.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redo_lite import checkpoint as ckpt  # noqa: E402
from redo_lite.config import Config  # noqa: E402
from redo_lite.train import Trainer  # noqa: E402


def finetune(
    src: Path, data: Path, out: Path, minutes=None, steps=None, seed=0, sets=(), whole=False
):
    cfg = Config.load(src / "config.json").override(["restart_min_area=0", *sets])
    trainer = Trainer(cfg, data, out, seed=seed)
    if not trainer.resumed:  # a resumed run already holds its own networks
        path = src / ("last.pt" if whole else "best.pt")
        state = ckpt.load(path)
        # best.pt holds F, G and D (δ starts fresh); last.pt every network
        nets = trainer.nets if whole else {k: trainer.nets[k] for k in state["nets"]}
        ckpt.load_nets(nets, state["nets"], path)
        if trainer.F_ema is not None:
            ema = state["F_ema"] if whole and "F_ema" in state else state["nets"]["F"]
            trainer.F_ema.load_state_dict(ema)
        if whole:
            ckpt.require(state, ("opts",), path)
            for k, o in trainer.opts.items():
                ours = [{h: v for h, v in g.items() if h != "params"} for g in o.param_groups]
                o.load_state_dict(state["opts"][k])  # the moments; the settings stay this run's
                for g, h in zip(o.param_groups, ours, strict=True):
                    g.update(h)
        trainer.log(kind="init", source=str(path), source_step=state["step"])
    try:
        return trainer.fit(steps=steps, minutes=minutes)
    finally:
        trainer.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="src", type=Path, required=True, help="a trained run")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="a new run folder (or one to resume)")
    ap.add_argument("--minutes", type=float)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument(
        "--continue",
        dest="whole",
        action="store_true",
        help="go on from RUN/last.pt: every network, δ, the averaged F and the optimisers",
    )
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    print(finetune(a.src, a.data, a.out, a.minutes, a.steps, a.seed, a.set, a.whole))


if __name__ == "__main__":
    main()
