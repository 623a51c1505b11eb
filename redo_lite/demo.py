"""The main job in one command: build colored-2-MNIST (offline), load the shipped ReDO model (or
train one), write a picture of input / truth / predicted regions / redraws, and print the test
scores of both shipped models, labelled: ReDO alone first, then the same model self-trained
(beyond the paper).

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
    make_folder,
    read_text,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "checkpoints" / "c2mnist-cpu"  # ReDO alone: the model the course loads
SELFTRAINED = ROOT / "checkpoints" / "c2mnist-cpu-selftrained"  # the same, then self-trained
NAMES = ["background", "even digit", "odd digit"]  # what labels 0, 1, 2 of the truth mean
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


def shown(path: Path) -> str:
    """A run folder as the user would type it: relative to the working folder when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def score_lines(rows: list[tuple[str, Path, dict]]) -> list[str]:
    """The models' test scores, one labelled line each, in columns."""
    label_w = max(len(label) for label, _, _ in rows)
    run_w = max(len(shown(run)) for _, run, _ in rows)
    head = f"test scores ({rows[0][2]['images']} images; IoU under the best permutation):"
    return [head] + [
        f"  {label:<{label_w}}  {shown(run):<{run_w}}  IoU {s['iou']:.3f}  accuracy {s['acc']:.3f}"
        for label, run, s in rows
    ]


def run_demo(
    out="demo", data="data/c2mnist32", train_minutes: float | None = None, seed: int = 0
) -> dict:
    """Returns the test scores of every model it printed, keyed by its label."""
    import matplotlib.pyplot as plt

    from data_prep.c2mnist import build

    from .config import get_preset
    from .data import ImageFolderData
    from .evaluation import evaluate
    from .run import load_run
    from .viz import redraw_figure

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
        models = [
            ("ReDO alone", SHIPPED),
            ("ReDO, then self-trained (beyond the paper)", SELFTRAINED),
        ]
        if train_minutes:
            from .train import Trainer

            run = out / "run"
            trainer = Trainer(cfg, data, run, seed=seed)
            try:
                trainer.fit(minutes=train_minutes)
            finally:
                trainer.close()
            models.insert(0, (f"ReDO, trained here ({train_minutes:g} min)", run))
        label, run = models[0]
        _, nets = load_run(run)
        test = ImageFolderData(data, "test", cfg.size, cfg.regions, need_masks=True)
        x, gt = test.batch(torch.arange(min(8, len(test))))
        fig = redraw_figure(
            nets, x, gt, NAMES, n_z=4, seed=0, title=f"{label} ({shown(run)}) on test images"
        )
        atomic_write(
            out / "redraws.png",
            lambda f: fig.savefig(f, format="png", dpi=100, bbox_inches="tight"),
        )
        plt.close(fig)
        print(
            f"picture: {out / 'redraws.png'} ({label}, {shown(run)}: input | truth | prediction | "
            "redraws of each region)"
        )
        results, rows = {}, []
        for label, run in models:
            if run != models[0][1]:
                _, nets = load_run(run)
            scores = evaluate(nets["F"], test)
            for k in ("iou_split_regions", "per_image_iou"):
                scores.pop(k)
            results[label] = {"run": str(run), "split": "test", **scores}
            rows.append((label, run, scores))
        print("\n".join(score_lines(rows)))
        return results
    finally:
        lock.release()
