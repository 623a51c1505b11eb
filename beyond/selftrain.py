r"""Self-training: F trained on its own masks, snapped to the image's colour edges (not in the
paper; the CPU preset's last phase and ``python -m redo_lite self-train``).

ReDO finds the regions, but in a CPU budget F's edges stay loose: it learns how thick an object is
from what D accepts, not where the image's colours change (docs/log/c2mnist.md). One round of
self-training tightens them, with no ground truth:

1. F's soft masks on training images are filtered by a joint bilateral filter guided by the
   image's own colours (``redo_lite.bilateral.colour_filter``: the filter that ``segment`` uses
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
from tqdm.auto import tqdm

from redo_lite.bilateral import colour_filter


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
    left as it was."""
    labels, raw = refined_labels(F, images, with_raw=True, passes=passes, deadline=label_deadline)
    images = images[: len(labels)]
    changed = (raw != labels).float().mean().item()
    dev = next(F.parameters()).device
    new = copy.deepcopy(F).train().requires_grad_(True)
    opt = torch.optim.Adam(new.parameters(), lr=lr, betas=betas, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(seed)
    losses = []
    bar = tqdm(total=steps, disable=not progress, desc="self-training F", dynamic_ncols=True)
    for _ in range(steps):
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
        bar.update(1)
    bar.close()
    tail = losses[-50:]
    return {
        "F": new.eval().requires_grad_(False),
        "steps": len(losses),
        "images": len(images),
        "loss": sum(tail) / len(tail) if tail else float("nan"),
        "changed": changed,
    }


SELF_TRAIN_RECORD = "self_train.json"


def self_train_run(
    run_dir,
    data_dir,
    out_dir,
    steps: int | None = None,
    images: int | None = None,
    seed: int = 0,
    seconds: float | None = None,
    progress: bool = False,
) -> dict:
    """``python -m redo_lite self-train``: RUN's selected F self-trained on DATA's train split,
    written with RUN's G and D and settings to OUT, a new folder (an existing non-empty one is
    refused, nothing in it touched). OUT is scored as any run (``evaluate``, ``segment``); its
    ``self_train.json`` records what made it, and keeps ``train`` from writing there.
    ``seconds``: the phase's time, set out before it starts: labelling stops at half of it (fewer
    images), the steps at its end (fewer steps)."""
    import json

    from redo_lite import checkpoint as ckpt
    from redo_lite.data import ImageFolderData, labelled_split
    from redo_lite.evaluation import evaluate
    from redo_lite.files import WriteError, atomic_write_text, make_folder
    from redo_lite.run import load_run

    run, out = Path(run_dir), Path(out_dir)
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise WriteError(f"{out}: exists and is not a folder; choose another --out")
        if any(out.iterdir()):
            raise WriteError(
                f"{out}: exists and is not empty; self-train writes a new run folder: choose "
                "another --out"
            )
    cfg, nets = load_run(run)  # checks RUN (its settings and networks) before anything is read
    steps = steps if steps is not None else (cfg.self_train_steps or 500)
    n = images if images is not None else cfg.self_train_images
    train = ImageFolderData(data_dir, "train", cfg.size, cfg.regions, masks="none")
    val = labelled_split(Path(data_dir), "val", cfg)  # the images with a mask, or None
    g = torch.Generator().manual_seed(seed)
    x = train.batch(torch.randperm(len(train), generator=g)[: min(n, len(train))])[0]
    torch.manual_seed(seed)
    started = time.perf_counter()
    end = None if seconds is None else started + seconds
    result = self_train(
        nets["F"], x, steps, cfg.lr_f, cfg.betas, cfg.wd_f, cfg.batch, seed=seed, amp=False,
        passes=cfg.self_train_passes, deadline=end,
        label_deadline=None if seconds is None else started + seconds / 2, progress=progress,
    )  # fmt: skip
    source = run / "best.pt" if (run / "best.pt").exists() else run / "last.pt"
    state = ckpt.load(source)
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
        "seed": seed,
        "loss": result["loss"],
        "changed": result["changed"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    state.pop("metrics", None)  # the source F's validation scores: not this F's
    if val is not None:  # the new F's, as best.pt of a run holds its F's
        record["val_before"] = evaluate(nets["F"], val)["iou"]
        state["metrics"] = {
            k: v for k, v in evaluate(result["F"], val).items() if k != "per_image_iou"
        }
        record["val_after"] = state["metrics"]["iou"]
    state["self_train"] = record
    make_folder(out, "--out folder")
    cfg.save(out / "config.json")
    ckpt.atomic_save(state, out / "best.pt")
    log = run / "metrics.jsonl"
    atomic_write_text(out / "metrics.jsonl", log.read_text() if log.is_file() else "")
    atomic_write_text(out / SELF_TRAIN_RECORD, json.dumps(record, indent=2) + "\n")
    return record


# --- the phase after ReDO in ``python -m redo_lite train`` ---------------------------------------
SELF_TRAIN_SHARE = 0.1  # of a timed run (--minutes M): ReDO 0.9 M, then self-training 0.1 M
PHASE_FOLDER = "selftrained"  # RUN/selftrained: the self-trained model, a run folder of its own


def self_train_phase(
    run_dir, data_dir, steps: int, seconds: float | None, seed: int = 0, images: int | None = None
) -> dict:
    """Self-training as the phase after ReDO (``train`` with a config whose ``self_train_steps``
    is above 0, unless ``--no-self-train``): RUN's selected F self-trained into RUN/selftrained.
    RUN itself, ReDO's model, is left as it is. A phase that finished before is not run again
    (``already`` in the record); one interrupted before its record was written starts again from
    the start, since the phase keeps nothing half-done but the folder it writes."""
    import json

    out = Path(run_dir) / PHASE_FOLDER
    record_path = out / SELF_TRAIN_RECORD
    if record_path.is_file():
        return {**json.loads(record_path.read_text()), "out": str(out), "already": True}
    if out.is_dir() and not out.is_symlink():
        _clear_unfinished(out)
    record = self_train_run(
        run_dir, data_dir, out, steps, images, seed=seed, seconds=seconds, progress=True
    )
    return {**record, "out": str(out)}


# what an unfinished phase may have left in RUN/selftrained (the files self_train_run writes)
_PHASE_FILES = ("config.json", "best.pt", "metrics.jsonl")


def _clear_unfinished(out: Path) -> None:
    from redo_lite.files import WriteError

    # the phase's own files, and the temporary files of a write it did not finish
    others = [p.name for p in out.iterdir() if not any(f in p.name for f in _PHASE_FILES)]
    if others:
        raise WriteError(
            f"{out}: holds {', '.join(sorted(others))}, which the self-training phase did not "
            "write; move it away to run the phase again"
        )
    for p in out.iterdir():
        p.unlink()
