"""python -m redo_lite train | evaluate | segment | demo | describe"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _cmd_train(a):
    import torch

    from .config import Config, cpu_defaults, get_preset
    from .train import Trainer

    if a.threads:
        torch.set_num_threads(a.threads)
    run_cfg = Path(a.out) / "config.json"
    if run_cfg.exists():  # resume: the run folder's config rules
        cfg = Config.load(run_cfg)
        asked = a.preset or cfg.preset
        if (
            asked != cfg.preset
            or (a.size and a.size != cfg.size)
            or (a.regions and a.regions != cfg.regions)
        ):
            raise SystemExit(
                f"error: {run_cfg}: this run was trained with preset {cfg.preset!r} "
                f"({cfg.size}px, {cfg.regions} regions), not {asked!r} ({a.size or cfg.size}px, "
                f"{a.regions or cfg.regions} regions); use another --out for new settings"
            )
    elif a.preset:
        cfg = get_preset(a.preset)
        if (a.size and a.size != cfg.size) or (a.regions and a.regions != cfg.regions):
            raise SystemExit(
                f"error: preset {a.preset!r} is {cfg.size}px with {cfg.regions} regions; "
                "drop --size/--regions or --preset"
            )
    else:
        cfg = cpu_defaults(a.size or 32, a.regions or 2)
    if a.set and not run_cfg.exists():
        cfg = cfg.override(a.set)
    elif a.set and cfg.differences(cfg.override(a.set).to_dict()):
        raise SystemExit(
            f"error: {run_cfg}: --set would change a run that already exists; use another --out"
        )
    trainer = Trainer(
        cfg, a.data, a.out, seed=a.seed, device=a.device, amp=a.amp, compile=a.compile, tf32=a.tf32
    )
    if trainer.resumed:
        print(
            f"resuming {a.out} at step {trainer.step} (attempt {trainer.attempt})", file=sys.stderr
        )
    out = trainer.fit(steps=a.steps, minutes=a.minutes)
    if out.get("interrupted"):
        raise SystemExit(130)  # fit said how to resume
    test = trainer.final_test(a.data)
    if test is not None:
        out["test"] = {k: test[k] for k in ("acc", "iou", "acc_split", "iou_split")}
    print(json.dumps(out))


def _cmd_evaluate(a):
    from .run import evaluate_run

    print(json.dumps(evaluate_run(a.run, a.data, a.split)))


def _cmd_segment(a):
    from .run import segment_folder

    written = segment_folder(a.run, a.images, a.out)
    print(f"wrote {len(written)} label maps to {a.out}")


def _cmd_demo(a):
    from .demo import run_demo

    run_demo(a.out, a.data, a.train_minutes, a.seed)


def _cmd_describe(a):
    from .config import get_preset
    from .nets import build_nets, count_parameters

    cfg = get_preset(a.preset)
    if a.regions:
        cfg.regions = a.regions
    print(
        json.dumps(
            {
                "preset": cfg.preset,
                "regions": cfg.regions,
                "parameters": count_parameters(build_nets(cfg)),
            }
        )
    )


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m redo_lite",
        description="ReDO: unsupervised object segmentation by redrawing",
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train (or resume) a run")
    t.add_argument("--data", required=True, help="data folder (images/, masks/, splits/)")
    t.add_argument("--out", required=True, help="run folder; resumes if it holds a checkpoint")
    t.add_argument("--preset")
    t.add_argument("--regions", type=int)
    t.add_argument("--size", type=int)
    g = t.add_mutually_exclusive_group()
    g.add_argument("--minutes", type=float, help="wall-time budget, restarts included")
    g.add_argument("--steps", type=int, help="train until this step")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device")
    t.add_argument(
        "--threads", type=int, help="torch CPU threads (1 is fastest on a busy 2-core machine)"
    )
    t.add_argument(
        "--amp", action="store_true", help="bfloat16 autocast for the forward passes (GPU)"
    )
    t.add_argument(
        "--tf32",
        action="store_true",
        help="TF32 matmuls and convolutions on GPUs (faster; not the official fp32 run)",
    )
    t.add_argument("--compile", action="store_true", help="torch.compile the networks for the step")
    t.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a preset setting, e.g. --set lambda_z=0 (repeatable; see redo_lite/config.py)",
    )
    t.set_defaults(fn=_cmd_train)
    e = sub.add_parser("evaluate", help="accuracy and IoU of a run on a split, as JSON")
    e.add_argument("--run", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--split", default="test")
    e.set_defaults(fn=_cmd_evaluate)
    s = sub.add_parser("segment", help="write a label map for every image of a folder")
    s.add_argument("--run", required=True)
    s.add_argument("--images", required=True)
    s.add_argument("--out", required=True)
    s.set_defaults(fn=_cmd_segment)
    m = sub.add_parser(
        "demo", help="build colored-2-MNIST, load (or train) a model, draw and score it"
    )
    m.add_argument("--out", default="demo")
    m.add_argument("--data", default="data/c2mnist32")
    m.add_argument(
        "--train-minutes", type=float, help="train a fresh model instead of loading the shipped one"
    )
    m.add_argument("--seed", type=int, default=0)
    m.set_defaults(fn=_cmd_demo)
    d = sub.add_parser("describe", help="parameter counts of a preset's networks, as JSON")
    d.add_argument("--preset", required=True)
    d.add_argument("--regions", type=int)
    d.set_defaults(fn=_cmd_describe)
    a = ap.parse_args(argv)
    from .checkpoint import CheckpointError
    from .data import DataError

    try:
        a.fn(a)
    except (DataError, CheckpointError, FileNotFoundError, KeyError) as err:
        raise SystemExit(f"error: {err}") from None


if __name__ == "__main__":
    main()
