r"""Self-training: F trained on its own masks, snapped to the image's colour edges (not in the
paper; the CPU preset's last phase and ``python -m redo_lite self-train``).

ReDO finds the regions, but in a CPU budget F's edges stay loose: it learns how thick an object is
from what D accepts, not where the image's colours change (docs/log/c2mnist.md). One round of
self-training tightens them, with no ground truth:

1. F's soft masks on training images are filtered by a joint bilateral filter guided by the
   image's own colours (``beyond.bilateral.colour_filter``: the filter that ``segment`` uses
   to enlarge masks, at the image's own size, for a batch): a pixel takes the masks
   of its neighbours that look like it. ``self_train_passes`` (P) repeats it: one pass moves an
   edge by a pixel or two (colored-2-MNIST's halos); many carry a rough blob out to the object's
   colour edges (one object on a textured background, where ReDO in a few minutes finds where
   the object is but not its outline);
2. the filtered masks' argmax is taken as each pixel's label;
3. F is trained on these labels with cross-entropy, as the supervised F of the paper's Figure 4
   (``beyond.supervised``) is trained on true ones.

.. math::
    \tilde M = \mathrm{JBF}_I^{P}\big(F(I)\big),\qquad \hat y_p = \arg\max_k \tilde M^k_p,\qquad
    \mathcal L_{self} = -\frac{1}{|\Omega|}\sum_{p\in\Omega} \log F(I)^{\hat y_p}_p

The labels come from F itself: a region F has not found is not found by the filter either. What the
round changes is where F puts its edges, and F then draws them so on images it has not seen.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch
import torch.nn.functional as F_

from beyond.bilateral import colour_filter
from redo_lite.files import say


@torch.no_grad()
def refined_labels(
    F: torch.nn.Module,
    images: torch.Tensor,
    batch: int = 100,
    with_raw=False,
    passes: int = 1,
    deadline: float | None = None,
):
    """Pseudo-labels (N,S,S uint8) for images in [-1, 1]: F's soft masks filtered ``passes``
    times by the image's own colours (``colour_filter``), argmax. ``with_raw``: also F's own
    labels (the argmax before the filter). ``deadline`` (a ``time.perf_counter()`` value): no new
    batch is started after it, so fewer than N images may come back (never fewer than one
    batch)."""
    dev = next(F.parameters()).device
    was = F.training
    F.eval()
    out, raw = [], []
    for i in range(0, len(images), batch):
        if out and deadline is not None and time.perf_counter() > deadline:
            break
        x = images[i : i + batch]
        soft = F(x.to(dev)).float().cpu()
        raw.append(soft.argmax(1).to(torch.uint8))
        rgb = (x.float().cpu() + 1) / 2  # the filter compares colours in [0, 1]
        # M~ = JBF_I(F(I)): each pixel takes the masks of the neighbours that look like it
        out.append(colour_filter(soft, rgb, passes).argmax(1).to(torch.uint8))
    F.train(was)
    return (torch.cat(out), torch.cat(raw)) if with_raw else torch.cat(out)


def self_train(
    F: torch.nn.Module,
    images: torch.Tensor,
    steps: int,
    lr: float,
    betas=(0.0, 0.9),
    weight_decay: float = 0.0,
    batch: int = 16,
    seed: int = 0,
    amp: bool = False,
    deadline: float | None = None,
    passes: int = 1,
    label_deadline: float | None = None,
    progress: bool = False,
) -> dict:
    """Self-train a copy of ``F`` on ``images`` (N,3,S,S in [-1, 1]) for ``steps`` steps of Adam
    (or until ``time.perf_counter()`` passes ``deadline``), on labels filtered ``passes`` times
    (the images labelled before ``label_deadline``, if one is given). Returns ``{"F": the new F
    (eval mode), "steps": steps done, "images": images labelled, "loss": the mean loss of the
    last 50, "changed": the share of pixels whose label the filter changed}``; ``F`` itself is
    left as it was. ``progress``: a line before the labelling and a bar over the steps (stderr)."""
    from tqdm.auto import tqdm

    if progress:
        say(f"self-train: labelling {len(images)} images (F's masks, colour filter x{passes})")
    labels, raw = refined_labels(F, images, with_raw=True, passes=passes, deadline=label_deadline)
    images = images[: len(labels)]
    changed = (raw != labels).float().mean().item()
    dev = next(F.parameters()).device
    new = copy.deepcopy(F).train().requires_grad_(True)
    opt = torch.optim.Adam(new.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in tqdm(range(steps), desc="self-train", unit="step", disable=not progress):
        if deadline is not None and time.perf_counter() > deadline:
            break
        idx = torch.randint(len(images), (batch,), generator=g)
        x, y = images[idx].to(dev), labels[idx].long().to(dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            m = new(x)
        # L_self = -mean_p log F(I)^{ŷ_p}_p  (cross-entropy on the filtered labels)
        loss = F_.nll_loss(torch.log(m.float().clamp(min=1e-6)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    tail = losses[-50:]
    return {
        "F": new.eval().requires_grad_(False),
        "steps": len(losses),
        "images": len(images),
        "loss": sum(tail) / len(tail) if tail else float("nan"),
        "changed": changed,
    }


SELF_TRAIN_RECORD = "self_train.json"  # written last: a folder without it is unfinished
SELF_TRAIN_LOCK = ".redo_self_train.lock"  # while a self-train writes in OUT
SELF_TRAIN_FILES = ("config.json", "best.pt", "metrics.jsonl", SELF_TRAIN_RECORD)


def check_self_train_out(out: Path) -> bool:
    """OUT may be written: a new or empty folder (False), or one a self-train cut short left, with
    its files but no ``self_train.json`` (True: started over). Anything else is refused."""
    from redo_lite.files import WriteError, is_temp_of

    if not (out.exists() or out.is_symlink()):
        return False
    if not out.is_dir():
        raise WriteError(f"{out}: exists and is not a folder; choose another --out")
    entries = sorted(p.name for p in out.iterdir())
    ours = set(SELF_TRAIN_FILES) | {SELF_TRAIN_LOCK}
    foreign = [e for e in entries if e not in ours and not any(is_temp_of(e, o) for o in ours)]
    if foreign or SELF_TRAIN_RECORD in entries:
        raise WriteError(
            f"{out}: exists and is not empty (it holds {(foreign or entries)[0]!r}); self-train "
            "writes a new run folder: choose another --out"
        )
    return any(e in SELF_TRAIN_FILES for e in entries)


class SelfTrainProgress:
    """Where a ``self-train`` is: what an interruption says it kept and what to run."""

    def __init__(self, out: Path):
        self.out, self.writing = Path(out), False

    def interrupted(self) -> str:
        if self.writing:
            return (
                f"self-train stopped while writing {self.out}; it has no {SELF_TRAIN_RECORD}, "
                "so it is unfinished: run the same command again to start it over"
            )
        return (
            f"self-train stopped before writing its results; nothing was kept in {self.out}: "
            "run the same command again to start over"
        )


def self_train_run(
    run_dir,
    data_dir,
    out_dir,
    steps: int | None = None,
    images: int | None = None,
    seed: int = 0,
    progress: SelfTrainProgress | None = None,
    seconds: float | None = None,
    passes: int | None = None,
) -> dict:
    """``python -m redo_lite self-train``: RUN's selected F self-trained on DATA's train split,
    written with RUN's G and D and settings to OUT, a new folder (an existing non-empty one is
    refused, nothing in it touched). OUT is scored as any run (``evaluate``, ``segment``); its
    ``self_train.json`` records what made it, written last, and keeps ``train`` from writing
    there. Everything is checked and read first (OUT, RUN, the train and validation images);
    one self-train at a time writes in OUT (``SELF_TRAIN_LOCK``); a cut-short one is started
    over by the same command. ``seconds``: the time set out for it before it starts (the phase
    after ReDO in ``train``): labelling stops at half of it (fewer images), the steps at its end
    (fewer steps). ``passes``: the colour filter's passes, if not the run's
    ``self_train_passes`` (the config written to OUT says which)."""
    from redo_lite import checkpoint as ckpt
    from redo_lite.data import ImageFolderData, labelled_split, note
    from redo_lite.files import json_text, make_folder
    from redo_lite.run import load_run
    from redo_lite.runfolder import lock_output

    run, out = Path(run_dir), Path(out_dir)
    progress = progress or SelfTrainProgress(out)
    if out.is_dir():  # another self-train writing here: said first
        lock_output(out, SELF_TRAIN_LOCK, "self-train").release()
    check_self_train_out(out)
    cfg, nets = load_run(run)  # checks RUN (its settings and networks) before anything is read
    if passes is not None and passes != cfg.self_train_passes:
        cfg = cfg.override([f"self_train_passes={passes}"])
    steps = steps if steps is not None else (cfg.self_train_steps or 500)
    n = images if images is not None else cfg.self_train_images
    train = ImageFolderData(data_dir, "train", cfg.size, cfg.regions, masks="none")
    val = labelled_split(Path(data_dir), "val", cfg)  # the images with a mask, or None
    source = run / "best.pt" if (run / "best.pt").exists() else run / "last.pt"
    state = ckpt.load(source)
    make_folder(out, "--out folder")
    lock = lock_output(out, SELF_TRAIN_LOCK, "self-train")
    try:
        if check_self_train_out(out):  # as it is now that this process alone writes here
            note(f"{out}: a self-train cut short (no {SELF_TRAIN_RECORD}); starting it over")
            from redo_lite.files import is_temp_of

            for p in out.iterdir():  # its files, and the temporary files of a write cut short
                ours = p.name in SELF_TRAIN_FILES or any(
                    is_temp_of(p.name, f) for f in SELF_TRAIN_FILES
                )
                if ours and (p.is_file() or p.is_symlink()):
                    p.unlink()
        record = _self_train(
            cfg, nets, state, source, train, val, data_dir, steps, n, seed, seconds
        )
        progress.writing = True
        cfg.save(out / "config.json", overwrite=False)
        ckpt.atomic_save(state, out / "best.pt", overwrite=False)
        log = run / "metrics.jsonl"
        text = log.read_text() if log.is_file() else ""
        ckpt.atomic_write_text(out / "metrics.jsonl", text, overwrite=False)
        text = json_text(record, indent=2) + "\n"
        ckpt.atomic_write_text(out / SELF_TRAIN_RECORD, text, overwrite=False)
        progress.writing = False
    finally:
        lock.release()
    return record


def _self_train(cfg, nets, state, source, train, val, data_dir, steps, n, seed, seconds) -> dict:
    """The self-training itself (``self_train_run``): ``state`` becomes the new best.pt."""
    from redo_lite.evaluation import evaluate

    g = torch.Generator().manual_seed(seed)
    x = train.batch(torch.randperm(len(train), generator=g)[: min(n, len(train))])[0]
    torch.manual_seed(seed)
    started = time.perf_counter()
    timed = seconds is not None
    result = self_train(
        nets["F"], x, steps, cfg.lr_f, cfg.betas, cfg.wd_f, cfg.batch, seed=seed, amp=False,
        passes=cfg.self_train_passes, progress=True,
        deadline=started + seconds if timed else None,
        label_deadline=started + seconds / 2 if timed else None,
    )  # fmt: skip
    state["config"] = cfg.to_dict()  # the settings it was made with (passes included)
    state["nets"] = {k: v for k, v in state["nets"].items() if k in ("F", "G", "D")}
    state["nets"]["F"] = result["F"].state_dict()
    state.pop("F_ema", None)
    state.pop("opts", None)
    state["F_source"] = f"self-trained ({state.get('F_source', 'live')} F of {source})"
    record = {
        "source": str(source),
        "data": str(Path(data_dir)),
        "images": result["images"],
        "steps": result["steps"],
        "passes": cfg.self_train_passes,
        "seed": seed,
        "loss": result["loss"],
        "changed": result["changed"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    state.pop("metrics", None)  # the source F's validation scores: not this F's
    if val is not None:  # the new F's, as best.pt of a run holds its F's
        say(f"self-train: scoring F before and after on {len(val)} validation images")
        record["val_before"] = evaluate(nets["F"], val)["iou"]
        state["metrics"] = {
            k: v for k, v in evaluate(result["F"], val).items() if k != "per_image_iou"
        }
        record["val_after"] = state["metrics"]["iou"]
    state["self_train"] = record
    return record


# --- the phase after ReDO in ``python -m redo_lite train`` ---------------------------------------
SELF_TRAIN_SHARE = 0.1  # of a timed run (--minutes M): ReDO 0.9 M, then self-training 0.1 M
PHASE_FOLDER = "selftrained"  # RUN/selftrained: the self-trained model, a run folder of its own


def self_train_phase(
    run_dir,
    data_dir,
    steps: int,
    seconds: float | None,
    seed: int = 0,
    images: int | None = None,
    passes: int | None = None,
) -> dict:
    """Self-training as the phase after ReDO (``train`` with a config whose ``self_train_steps``
    is above 0, unless ``--no-self-train``): RUN's selected F self-trained into RUN/selftrained.
    RUN itself, ReDO's model, is left as it is. A phase that finished before is not run again
    (``already`` in the record); one interrupted before its record was written starts over with the
    same command (``self_train_run`` clears what it left). ``passes``: as ``self_train_run``'s."""
    import json

    out = Path(run_dir) / PHASE_FOLDER
    record_path = out / SELF_TRAIN_RECORD
    if record_path.is_file():
        return {**json.loads(record_path.read_text()), "out": str(out), "already": True}
    record = self_train_run(
        run_dir, data_dir, out, steps, images, seed=seed, seconds=seconds, passes=passes
    )
    return {**record, "out": str(out)}


# --- how `python -m redo_lite train` runs the phase: set out before, said after ---------------
def plan_phases(cfg, a, run: Path, trainer) -> dict:
    """Which phases this train runs and for how long, set out and said before it starts: ReDO,
    then (when the config asks for it, not under --steps unless --self-train, never with
    --no-self-train) self-training, which gets ``SELF_TRAIN_SHARE`` of --minutes."""
    asked = a.self_train
    wanted = cfg.self_train_steps > 0 and a.steps is None if asked is None else asked
    steps = cfg.self_train_steps or 500
    plan = {
        "self_train": bool(wanted) and trainer.val_data is not None,
        "redo_minutes": a.minutes,
        "self_train_steps": steps,
        "self_train_seconds": None,
    }
    if plan["self_train"] and a.minutes is not None:
        plan["redo_minutes"] = a.minutes * (1 - SELF_TRAIN_SHARE)
        plan["self_train_seconds"] = 60 * a.minutes * SELF_TRAIN_SHARE
    if not trainer.main:
        return plan
    length = f"{a.steps or cfg.steps} steps"
    if plan["redo_minutes"] is not None:
        length = f"at most {cfg.steps} steps or {plan['redo_minutes']:.1f} minutes"
    lines = [f"phases: 1. ReDO, {length} -> {run}/best.pt"]
    if plan["self_train"]:
        when = (
            f" within {plan['self_train_seconds'] / 60:.1f} minutes"
            if plan["self_train_seconds"] is not None
            else ""
        )
        lines.append(
            f"        2. self-training F on its own colour-filtered masks (beyond the paper), at "
            f"most {steps} steps on {cfg.self_train_images} images{when} -> "
            f"{run / PHASE_FOLDER}/best.pt (--no-self-train to skip)"
        )
    elif wanted:
        lines.append(
            "        (no self-training: the data has no labelled validation split to tell "
            "whether it helps)"
        )
    elif cfg.self_train_steps > 0:
        why = "--no-self-train" if asked is False else "--steps counts ReDO steps only"
        lines.append(f"        (no self-training: {why}; --self-train to run it after ReDO)")
    from redo_lite.files import say

    for line in lines:
        say(line)
    return plan


def run_phase(a, run: Path, trainer, plan) -> dict:
    """The phase after ReDO, as ``plan_phases`` set it out; its figures said as it goes."""
    from redo_lite.files import say
    from redo_lite.run import evaluate_run

    record = self_train_phase(
        run, a.data, plan["self_train_steps"], plan["self_train_seconds"], seed=trainer.seed
    )
    if record.get("already"):
        say(f"self-training: done before ({record['out']})")
    else:
        say(
            f"self-training: {record['steps']} steps on {record['images']} images in "
            f"{record['seconds']:.0f} s; validation IoU {record['val_before']:.3f} -> "
            f"{record['val_after']:.3f}"
        )
    out = {k: record[k] for k in ("out", "steps", "images", "val_before", "val_after")}
    if trainer._test is not None and trainer._test[1] is not None:
        test = evaluate_run(record["out"], a.data, "test", device=trainer.device)
        out["test"] = figures(test)
        say(
            f"ReDO, then self-training: test IoU {test['iou']:.3f}, accuracy {test['acc']:.3f} "
            f"({record['out']})"
        )
    return out


def figures(m: dict) -> dict:
    return {k: m[k] for k in ("acc", "iou", "acc_split", "iou_split")}


def beats_redo(record: dict) -> bool:
    """Whether a self-training record's model is the one to keep: better than ReDO's on
    validation."""
    return record["val_after"] > record["val_before"]


def kept_line(out: dict, run: Path) -> str:
    """The closing line: which phase made the model to use."""
    st = out.get("self_training")
    if st is None:
        return f"kept model: {run} (ReDO)"
    if beats_redo(st):
        return (
            f"kept model: {st['out']} (the self-training phase; better on validation than "
            f"ReDO's {run}, which stays as it is)"
        )
    return (
        f"kept model: {run} (ReDO; the self-training phase did not beat it on validation, "
        f"{st['out']} stays for a look)"
    )
