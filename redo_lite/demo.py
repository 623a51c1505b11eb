"""The main job in one command: build colored-2-MNIST (offline), load the shipped checkpoint (or
train one), write a picture of input / ground truth / predicted regions / redraws, print Acc/IoU.

    python -m redo_lite demo [--train-minutes M] [--out demo]
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from .files import (
    WriteError,
    atomic_write,
    atomic_write_text,
    is_temp_of,
    json_text,
    make_folder,
    read_text,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "c2mnist-cpu"
MARKER = "redo_demo.json"
LOCK = ".redo_demo.lock"  # while a demo writes in --out (runfolder.lock_output)
OWN = {MARKER, "redraws.png", "run", LOCK}  # all the demo ever writes in --out


def claim_out(out: Path, write: bool = True):
    """--out is the demo's own folder: new, empty, or holding only what the demo writes. Checked
    (and with ``write``, created, locked and marked: the lock is returned)."""
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise WriteError(f"{out}: exists and is not a folder; choose another --out")
    entries = sorted(os.listdir(out)) if out.is_dir() else []
    foreign = [e for e in entries if e not in OWN and not any(is_temp_of(e, o) for o in OWN)]
    if foreign:
        raise WriteError(
            f"{out}: not a demo folder (it holds {foreign[0]!r}); the demo writes only into a new "
            "or empty folder or one of its own: choose another --out"
        )
    from .runfolder import lock_output

    if not write:
        if out.is_dir():  # another demo writing here is refused now, before any data is built
            lock_output(out, LOCK, "demo").release()
        return
    make_folder(out, "--out folder")
    lock = lock_output(out, LOCK, "demo")  # one demo at a time in --out
    try:
        claim_out(out, write=False)  # as it is now that this process alone writes here
        if not (out / MARKER).exists():
            atomic_write_text(out / MARKER, json.dumps({"made_by": "redo_lite demo"}) + "\n")
    except BaseException:
        lock.release()
        raise
    return lock


def check_data(data: Path, size: int) -> bool:
    """Whether ``data`` already holds colored-2-MNIST at ``size`` px (True), or may be built into
    (False: a new or empty folder, or a build of it cut short). Any other folder is refused."""
    if not data.exists() and not data.is_symlink():
        return False
    if not data.is_dir():
        raise WriteError(f"{data}: exists and is not a folder; choose another --data")
    info = data / "info.json"
    if not info.exists():
        return False  # empty, or a build cut short: data_prep recognises its own (build.json)
    try:
        meta = json.loads(read_text(info, "info.json", ValueError))
    except json.JSONDecodeError as e:
        raise ValueError(f"{info}: not valid JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(meta, dict) or meta.get("name") != "colored-2-MNIST":
        name = meta.get("name") if isinstance(meta, dict) else None
        raise WriteError(
            f"{data}: holds another data set ({name!r} in info.json), not colored-2-MNIST; the "
            "demo builds its data only into a new folder or one it built: choose another --data"
        )
    if meta.get("size") != size:
        raise WriteError(
            f"{data}: holds colored-2-MNIST at {meta.get('size')} px, not {size} px: choose "
            "another --data"
        )
    return True


def run_demo(
    out="demo", data="data/c2mnist32", train_minutes: float | None = None, seed: int = 0
) -> dict:
    from torchvision.utils import save_image

    from data_prep.c2mnist import build

    from .config import get_preset
    from .data import ImageFolderData
    from .evaluation import evaluate
    from .run import load_run
    from .viz import redraw_grid

    out, data = Path(out), Path(data)
    o, d = out.resolve(), data.resolve()
    if o == d or d in o.parents or o in d.parents:
        raise WriteError(f"{out}: --out and --data must be two separate folders (--data {data})")
    cfg = get_preset("c2mnist-cpu")
    ready = check_data(data, cfg.size)  # both folders checked before anything is written
    claim_out(out, write=False)
    if not ready:
        build(data, size=cfg.size, seed=0)  # data_prep refuses a folder that is not its own
    lock = claim_out(out)  # created, locked (one demo at a time in --out) and marked
    try:
        run = SHIPPED
        if train_minutes:
            from .train import Trainer

            run = out / "run"
            trainer = Trainer(cfg, data, run, seed=seed)
            try:
                trainer.fit(minutes=train_minutes)
            finally:
                trainer.close()
        _, nets = load_run(run)
        test = ImageFolderData(data, "test", cfg.size, cfg.regions, need_masks=True)
        x, gt = test.batch(torch.arange(min(8, len(test))))
        grid = redraw_grid(nets, x, gt, 4, 0)
        big = torch.nn.functional.interpolate(grid[None], scale_factor=3, mode="nearest")[0]
        atomic_write(out / "redraws.png", lambda f: save_image(big, f, format="png"))
        scores = {"split": "test", **evaluate(nets["F"], test)}
        for k in ("iou_split_regions", "per_image_iou"):
            scores.pop(k)
        print(
            f"picture: {out / 'redraws.png'} (input | ground truth | predicted regions | "
            "redraws of each region)"
        )
        print(json_text({"run": str(run), **scores}))
    finally:
        lock.release()
    return scores
