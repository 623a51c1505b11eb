"""python -m redo_lite train | evaluate | segment | self-train | demo | describe

Every argument is checked (type and range, the allowed range in the message) before anything is
read or written; every failure ends with one line ``error: <file>: <what is wrong>`` on stderr and
exit status 2 (``--debug`` shows the traceback instead).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .cli import Parser, positive, power_of_two, whole
from .files import json_text, printable, run_cli, say


def split_name(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", text) or len(text) > 100:
        raise argparse.ArgumentTypeError(
            f"expected the name of a split file in DATA/splits (train, val, test), got {text!r}"
        )
    return text


def preset_name(text: str) -> str:
    from .config import PRESETS

    if text not in PRESETS:
        raise argparse.ArgumentTypeError(
            f"unknown preset {text!r}; known: {', '.join(sorted(PRESETS))}"
        )
    return text


SEED = whole(0, 2**32 - 1)
REGIONS = whole(2, 6)  # scoring tries all n! region assignments (720 at 6)
SIZE = power_of_two(8, 1024)
MINUTES = positive(1e6)


def check_device(name: str | None) -> str | None:
    """``cpu``, ``cuda``, ``cuda:N`` or ``mps``, and present on this machine."""
    if name is None:
        return None
    import torch

    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda", "mps"):
        raise SystemExit(f"error: --device {name!r}: expected cpu, cuda, cuda:N or mps")
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise SystemExit(f"error: --device {name!r}: no CUDA GPU is visible on this machine")
        if dev.index is not None and dev.index >= count:
            raise SystemExit(
                f"error: --device {name!r}: this machine has {count} GPU(s): cuda:0 to "
                f"cuda:{count - 1}"
            )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise SystemExit(f"error: --device {name!r}: Apple's MPS is not available here")
    return name


# --- the commands --------------------------------------------------------------------------------
def _run_config(run: Path):
    """The settings of an existing run folder: its config.json, or (when that was deleted) the
    copy every last.pt carries, which is then written back."""
    from . import checkpoint as ckpt
    from .config import Config, ConfigError
    from .data import note

    path = run / "config.json"
    if path.exists() or path.is_symlink():
        return Config.load(path)
    if not (run / "last.pt").exists():
        return None
    state = ckpt.load(run / "last.pt")
    try:
        cfg = Config.from_dict(state.get("config"))
    except ConfigError as e:
        raise ckpt.CheckpointError(f"{run / 'last.pt'}: its settings are unusable ({e})") from None
    note(f"{path}: missing; the settings are read from {run / 'last.pt'} and written back")
    return cfg


def _cmd_train(a):
    from . import runfolder
    from .config import cpu_defaults, get_preset

    device = check_device(a.device)
    data = Path(a.data)
    if not data.is_dir():  # before torch is even imported
        what = "no such folder" if not data.exists() else "not a folder"
        raise SystemExit(f"error: {data}: {what} (--data)")
    run = Path(a.out)
    runfolder.owned(run)  # refuse a folder that is not a run folder before reading any data
    cfg = _run_config(run) if run.is_dir() else None
    if cfg is not None:  # resume: the run folder's settings rule
        asked = a.preset or cfg.preset
        if (
            asked != cfg.preset
            or (a.size and a.size != cfg.size)
            or (a.regions and a.regions != cfg.regions)
        ):
            raise SystemExit(
                f"error: {run / 'config.json'}: this run was trained with preset {cfg.preset!r} "
                f"({cfg.size}px, {cfg.regions} regions), not {asked!r} ({a.size or cfg.size}px, "
                f"{a.regions or cfg.regions} regions); use another --out for new settings"
            )
        changed = cfg.differences(cfg.override(a.set).to_dict()) if a.set else []
        if changed:
            raise SystemExit(
                f"error: {run / 'config.json'}: --set would change a run that already exists "
                f"(its {', '.join(changed)}); use another --out"
            )
    else:
        if a.preset:
            cfg = get_preset(a.preset)
            if (a.size and a.size != cfg.size) or (a.regions and a.regions != cfg.regions):
                raise SystemExit(
                    f"error: preset {a.preset!r} is {cfg.size}px with {cfg.regions} regions; "
                    "drop --size/--regions or --preset"
                )
        else:
            cfg = cpu_defaults(a.size or 32, a.regions or 2)
        cfg = cfg.override(a.set or [])  # every value checked before anything is written
        for flag, key in (("size", "size"), ("regions", "regions")):
            if getattr(a, flag) and getattr(a, flag) != getattr(cfg, key):
                raise SystemExit(
                    f"error: --{flag} {getattr(a, flag)} and --set {key}={getattr(cfg, key)} "
                    "disagree; give one of them"
                )
    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    from .train import Trainer

    trainer = Trainer(
        cfg, a.data, run, seed=a.seed, device=device, amp=a.amp, compile=a.compile, tf32=a.tf32
    )
    try:
        if trainer.resumed:
            say(f"resuming {a.out} at step {trainer.step} (attempt {trainer.attempt})")
        from beyond.selftrain import figures, kept_line, plan_phases, run_phase

        plan = plan_phases(cfg, a, run, trainer)
        out = trainer.fit(steps=a.steps, minutes=plan["redo_minutes"])
        if out.get("interrupted"):
            raise SystemExit(130)  # fit said how to resume
        out["phase"] = "ReDO"
        # a finished run run again: nothing trained, so nothing new to score or log
        test = None if out.get("already") else trainer.final_test(a.data)
        if test is not None:
            out["test"] = figures(test)
            say(f"ReDO: test IoU {test['iou']:.3f}, accuracy {test['acc']:.3f} ({run})")
        if plan["self_train"] and trainer.main:
            out["self_training"] = run_phase(a, run, trainer, plan)
        if trainer.main:
            say(kept_line(out, run))
        print(json_text(out))  # strict JSON: no best score yet (no labelled validation) is null
    finally:
        trainer.close()


def _cmd_evaluate(a):
    from .run import evaluate_run

    print(json_text(evaluate_run(a.run, a.data, a.split, device=check_device(a.device))))


def _cmd_segment(a):
    from .run import SegmentProgress, segment_folder

    progress = SegmentProgress(a.out, 0)
    a.interrupted = progress.interrupted
    written = segment_folder(
        a.run, a.images, a.out, overwrite=a.overwrite, progress=progress,
        device=check_device(a.device),
    )  # fmt: skip
    print(printable(f"wrote {len(written)} label maps to {a.out}"))


def _cmd_self_train(a):
    import torch

    from beyond.selftrain import SelfTrainProgress, self_train_run

    if a.threads:
        torch.set_num_threads(a.threads)
    progress = SelfTrainProgress(a.out)
    a.interrupted = progress.interrupted
    record = self_train_run(a.run, a.data, a.out, a.steps, a.images, a.seed, progress)
    print(json_text({"out": a.out, **record}))


def _cmd_demo(a):
    from .demo import run_demo

    run_demo(a.out, a.data, a.train_minutes, a.seed)


def _cmd_describe(a):
    from .config import get_preset
    from .nets import build_nets, count_parameters

    cfg = get_preset(a.preset)
    if a.regions:
        cfg = cfg.override([f"regions={a.regions}"])
    print(
        json_text(
            {
                "preset": cfg.preset,
                "regions": cfg.regions,
                "parameters": count_parameters(build_nets(cfg)),
            }
        )
    )


def build_parser() -> Parser:
    ap = Parser(
        prog="python -m redo_lite",
        description="ReDO: unsupervised object segmentation by redrawing",
    )
    ap.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    sub = ap.add_subparsers(dest="cmd", required=True)

    def command(name, **kw):
        p = sub.add_parser(name, **kw)
        p.add_argument("--debug", action="store_true", help="show the traceback of a failure")
        return p

    t = command("train", help="train (or resume) a run")
    t.add_argument("--data", required=True, help="data folder (images/, masks/, splits/)")
    t.add_argument(
        "--out",
        required=True,
        help="run folder: a new or empty folder, or a run folder to resume (nothing else)",
    )
    t.add_argument("--preset", type=preset_name)
    t.add_argument("--regions", type=REGIONS, help="2 to 6")
    t.add_argument("--size", type=SIZE, help="a power of two from 8 to 1024")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--minutes", type=MINUTES, help="wall-time budget, restarts included")
    g.add_argument("--steps", type=whole(1, 10**9), help="train until this step")
    t.add_argument("--seed", type=SEED, help="0 for a new run; a resume keeps the run's own")
    t.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: cuda if present)")
    t.add_argument(
        "--threads",
        type=whole(1, 1024),
        help="torch CPU threads (1 is fastest on a busy 2-core machine)",
    )
    t.add_argument(
        "--amp",
        action="store_true",
        help="bfloat16 autocast for the forward passes (GPU; the CPU presets set it themselves "
        "where the CPU has bf16 instructions)",
    )
    t.add_argument(
        "--tf32",
        action="store_true",
        help="TF32 matmuls and convolutions on GPUs (faster; not the official fp32 run)",
    )
    t.add_argument("--compile", action="store_true", help="torch.compile the networks for the step")
    t.add_argument(
        "--self-train",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="after ReDO, self-train F on its own colour-filtered masks into RUN/selftrained "
        "(beyond the paper; default: when the preset asks for it and no --steps is given)",
    )
    t.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a preset setting, e.g. --set lambda_z=0 (repeatable; every key and its "
        "allowed range: redo_lite/config.py, RULES)",
    )
    t.set_defaults(fn=_cmd_train)
    e = command("evaluate", help="accuracy and IoU of a run on a split, as JSON")
    e.add_argument("--run", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--split", default="test", type=split_name)
    e.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: cpu)")
    e.set_defaults(fn=_cmd_evaluate)
    s = command("segment", help="write a label map for every image of a folder")
    s.add_argument("--run", required=True)
    s.add_argument("--images", required=True)
    s.add_argument("--out", required=True, help="a folder outside --images")
    s.add_argument("--overwrite", action="store_true", help="replace label maps already in --out")
    s.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: cpu)")
    s.set_defaults(fn=_cmd_segment)
    st = command(
        "self-train",
        help="a run's F trained on its own colour-filtered masks, written to a new run folder",
    )
    st.add_argument("--run", required=True, help="a trained run (its best.pt)")
    st.add_argument("--data", required=True, help="data folder whose train split it learns on")
    st.add_argument("--out", required=True, help="a new (or empty) folder for the new run")
    st.add_argument(
        "--steps", type=whole(1, 10**7), help="default: the run's self_train_steps, else 500"
    )
    st.add_argument(
        "--images", type=whole(1, 10**7), help="train images labelled (default: the run's 2000)"
    )
    st.add_argument("--seed", type=SEED, default=0)
    st.add_argument("--threads", type=whole(1, 1024), help="torch CPU threads")
    st.set_defaults(fn=_cmd_self_train)
    m = command("demo", help="build colored-2-MNIST, load (or train) a model, draw and score it")
    m.add_argument("--out", default="demo", help="the demo's own folder (picture, trained run)")
    m.add_argument(
        "--data",
        default="data/c2mnist32",
        help="where colored-2-MNIST is built (a new folder, or one the demo built before)",
    )
    m.add_argument(
        "--train-minutes",
        type=MINUTES,
        help="train a fresh model instead of loading the shipped one",
    )
    m.add_argument("--seed", type=SEED, default=0)
    m.set_defaults(fn=_cmd_demo)
    d = command("describe", help="parameter counts of a preset's networks, as JSON")
    d.add_argument("--preset", required=True, type=preset_name)
    d.add_argument("--regions", type=REGIONS, help="2 to 6")
    d.set_defaults(fn=_cmd_describe)
    return ap


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    a = build_parser().parse_args(args)
    a.interrupted = INTERRUPTED.get(a.cmd, "interrupted; nothing was written")
    run_cli(lambda: a.fn(a), args, interrupted=lambda: _said(a.interrupted))


# what an interrupt before a command says what it kept (segment and self-train say it as they go)
INTERRUPTED = {
    "train": "interrupted; a run can be resumed with the same command",
    "demo": "interrupted; the demo can be run again with the same command",
}


def _said(what) -> str:
    return what() if callable(what) else what


if __name__ == "__main__":
    main()
