"""Loading a trained run folder, and using it: evaluate a split, segment a folder of images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from beyond.bilateral import guided_upsample

from . import checkpoint as ckpt
from .config import Config
from .data import DOWNSCALE, ImageFolderData, list_images, open_image, resize_shorter, to_rgb
from .files import WriteError, atomic_write, check_regular, make_folder
from .nets import build_nets

UPSAMPLE = "guided"  # how labels go back to an image's own size (segment_image)


def load_run(run_dir, which: str = "best", device=None) -> tuple[Config, dict]:
    """(config, networks in eval mode, on ``device``: the CPU by default) from RUN/config.json and
    RUN/best.pt (or last.pt)."""
    run = Path(run_dir)
    if not run.is_dir():
        raise ckpt.CheckpointError(
            f"{run}: " + ("no such run folder" if not run.exists() else "not a folder (--run)")
        )
    if not (run / "config.json").exists() and not (run / "config.json").is_symlink():
        raise ckpt.CheckpointError(f"{run}: no config.json here; is this a run folder?")
    cfg = Config.load(run / "config.json")
    path = run / f"{which}.pt"
    if which == "best" and not path.exists():
        path = run / "last.pt"
        if not path.exists():
            raise ckpt.CheckpointError(
                f"{run}: no best.pt or last.pt yet (a run writes them at its first evaluation)"
            )
    state = ckpt.load(path)
    if not isinstance(state.get("nets"), dict):
        raise ckpt.CheckpointError(f"{path}: not a redo_lite checkpoint (no 'nets' entry)")
    ckpt.check_config(cfg, state, path, hint=f" (the preset in {run / 'config.json'})")
    nets = build_nets(cfg)
    ckpt.load_nets({k: v for k, v in nets.items() if k in state["nets"]}, state["nets"], path)
    if "F_ema" in state:  # last.pt of a run with an averaged F
        ckpt.load_nets({"F_ema": nets["F"]}, state, path)
    for v in nets.values():
        v.to(device or "cpu").eval()
    return cfg, nets


def evaluate_run(run_dir, data_dir, split: str = "test", device=None, data=None) -> dict:
    """Scores of a run's selected model on a split (its images that have a mask). ``data``: the
    split already loaded, if the caller has it."""
    from .evaluation import evaluate

    cfg, nets = load_run(run_dir, device=device)
    if data is None:
        data = ImageFolderData(
            data_dir, split, cfg.size, cfg.regions, need_masks=True, masks="where present"
        )
    out = evaluate(nets["F"], data)
    out.pop("per_image_iou")
    return {"split": split, **out}


def window_offsets(length: int, size: int) -> list[int]:
    """Where square windows sit along an axis of ``length`` >= ``size`` px: the centred one (the
    centre crop ``preprocess`` takes) and as many on each side as it takes to cover the rest,
    the outermost ones flush with the edges."""
    c = (length - size) // 2
    left = [max(0, c - k * size) for k in range(1, -(-c // size) + 1)]
    right = [
        min(length - size, c + k * size) for k in range(1, -(-(length - size - c) // size) + 1)
    ]
    return sorted({c, *left, *right})


def owner(p: int, length: int, size: int) -> int:
    """The offset of the window that labels pixel ``p``: the centred window for the centre crop,
    else the nearest window on its side (``window_offsets``)."""
    c = (length - size) // 2
    if p < c:
        return max(0, c - -(-(c - p) // size) * size)
    if p >= c + size:
        return min(length - size, c + (p - c) // size * size)
    return c


def owners(length: int, size: int) -> torch.Tensor:
    """``owner`` for every pixel 0..length-1 at once (a LongTensor of window offsets)."""
    p = torch.arange(length)
    c = (length - size) // 2
    before = (c - torch.div(c - p + size - 1, size, rounding_mode="floor") * size).clamp(min=0)
    after = (c + torch.div(p - c, size, rounding_mode="floor") * size).clamp(max=length - size)
    return torch.where(p < c, before, torch.where(p >= c + size, after, torch.full_like(p, c)))


WINDOWS = 64  # windows F sees at once: memory stays bounded however long the image's side


@torch.no_grad()
def segment_soft(F, img: Image.Image, size: int, resample=DOWNSCALE) -> torch.Tensor:
    """Soft masks (n, h, w) of one PIL image at the preprocessed scale (shorter side ``size``).

    The image goes through ``preprocess``'s resize; F sees ``size`` x ``size`` windows, exactly
    what training and ``evaluate`` show it: the centred window (so the centre crop's masks are
    ``evaluate``'s) and, for a non-square image, windows covering the rest of the long side,
    ``WINDOWS`` at a time.
    """
    im = resize_shorter(to_rgb(img), size, resample)
    w, h = im.size
    x = torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 127.5 - 1
    wide = w >= h
    length = w if wide else h
    offsets = window_offsets(length, size)
    own = owners(length, size)
    dev = next(F.parameters()).device
    out = None
    for i in range(0, len(offsets), WINDOWS):
        batch = offsets[i : i + WINDOWS]
        crops = torch.stack([x[..., o : o + size] if wide else x[:, o : o + size] for o in batch])
        masks = F(crops.to(dev)).float().cpu()  # windows, n, size, size
        if out is None:
            out = torch.empty(masks.shape[1], h, w)
        for o, m in zip(batch, masks, strict=True):
            # the pixels this window labels: a run of them (the owners grow along the side)
            a, b = (int(torch.searchsorted(own, o, right=r)) for r in (False, True))
            if wide:
                out[:, :, a:b] = m[:, :, a - o : b - o]
            else:
                out[:, a:b] = m[:, a - o : b - o]
    return out


def to_unit_tensor(img: Image.Image) -> torch.Tensor:
    """An RGB PIL image as a 3,H,W float tensor in [0, 1]."""
    return torch.from_numpy(np.array(img)).permute(2, 0, 1).float() / 255


@torch.no_grad()
def segment_image(
    F, img: Image.Image, size: int, upsample: str = UPSAMPLE, resample=DOWNSCALE
) -> np.ndarray:
    """Label map (uint8, the image's own size) for one PIL image: ``segment_soft``, then back to
    the image's size, by ``upsample``: ``"guided"`` (``guided_upsample``, the default),
    ``"bilinear"`` (soft masks resized bilinearly, labels taken after) or ``"nearest"`` (labels
    resized with nearest neighbour). docs/c2mnist.md measures the three
    (``benchmarks/probes/preprocessing.py``)."""
    img = to_rgb(img)
    soft = segment_soft(F, img, size, resample)
    w, h = img.size
    if soft.shape[-2:] == (h, w):
        return soft.argmax(0).to(torch.uint8).numpy()
    if upsample == "nearest":
        labels = soft.argmax(0).to(torch.uint8).numpy()
        return np.asarray(Image.fromarray(labels, "L").resize((w, h), Image.NEAREST))
    if upsample == "bilinear":
        up = torch.nn.functional.interpolate(soft[None], (h, w), mode="bilinear")[0]
    elif upsample == "guided":
        small = resize_shorter(img, size, resample)
        up = guided_upsample(soft, to_unit_tensor(small), to_unit_tensor(img))
    else:
        raise ValueError(f"upsample must be guided, bilinear or nearest, not {upsample!r}")
    return up.argmax(0).to(torch.uint8).numpy()


SEGMENT_LOCK = ".redo_segment.lock"  # while a segment writes in --out (runfolder.lock_output)


def check_inside(images_dir: Path, out: Path) -> bool:
    """Whether --out is --images, or lies inside it (through a link, say)."""
    img_real, out_real = Path(images_dir).resolve(), Path(out).resolve()
    return (
        out_real == img_real
        or img_real in out_real.parents
        or (out.is_dir() and os.path.samefile(out, images_dir))
    )


def check_out_folder(images_dir: Path, out: Path, inputs, targets, overwrite: bool) -> None:
    """Refuse an output folder that is, or lies inside, the input folder; an output subfolder
    that is a link, or leads out of --out (into --images, say); an output file that is an input
    file (through a link, say); and, unless ``overwrite``, any output that exists."""
    out_real = Path(out).resolve()
    if check_inside(images_dir, out):
        raise WriteError(
            f"{out}: is inside --images {images_dir}; label maps would mix with (or replace) the "
            "images: choose an --out outside it"
        )
    if out.exists() and not out.is_dir():
        raise WriteError(f"{out}: exists and is not a folder; choose another --out")
    for folder in sorted({t.parent for t in targets} - {out}):  # the stems' subfolders
        for part in [*reversed(folder.relative_to(out).parents[:-1]), folder.relative_to(out)]:
            sub = out / part
            if sub.is_symlink() or (sub.exists() and not sub.is_dir()):
                what = "a symbolic link" if sub.is_symlink() else "not a folder"
                raise WriteError(
                    f"{sub}: is {what}; segment writes label maps only into real folders inside "
                    "--out: remove it or choose another --out"
                )
            if sub.exists() and out_real not in sub.resolve().parents:
                raise WriteError(f"{sub}: leads out of --out {out}; choose another --out")
    sources = {p.resolve() for p in inputs}
    existing = []
    for t in targets:
        if t.resolve() in sources:
            raise WriteError(f"{t}: is one of the input images; choose another --out")
        if t.exists() or t.is_symlink():
            if not t.is_file():
                check_regular(t, "label map", WriteError)
            existing.append(t)
    if existing and not overwrite:
        raise WriteError(
            f"{existing[0]}: already exists ({len(existing)} of the {len(targets)} label maps to "
            "write are there); pass --overwrite to replace them, or choose another --out"
        )


class SegmentProgress:
    """What a ``segment`` has written so far: what an interruption says it kept."""

    def __init__(self, out: Path, total: int):
        self.out, self.total, self.written = Path(out), total, []

    def interrupted(self) -> str:
        n = len(self.written)
        if n == 0:
            return f"segment stopped before writing any label map; nothing in {self.out} changed"
        return (
            f"segment stopped after writing {n} of the {self.total} label maps to {self.out} "
            f"(they are kept, the last {self.written[-1].name}); to finish, run the same "
            "command with --overwrite (it writes them all again)"
        )


def segment_folder(
    run_dir,
    images_dir,
    out_dir,
    overwrite: bool = False,
    progress: SegmentProgress | None = None,
    device=None,
) -> list[Path]:
    """Write OUT/<stem>.png (uint8 label map at each input's displayed size) for every image.
    Everything is checked first (the folders, every input image, the run), so a bad input stops
    the job before anything is written; nothing in --images is ever written, and nothing in OUT
    is replaced without ``overwrite`` (a file that appears while segment runs included). One
    segment at a time writes in OUT (``SEGMENT_LOCK``); a bar on stderr shows the progress;
    ``progress`` records what was written. F runs on ``device`` (the CPU by default)."""
    from tqdm.auto import tqdm

    from .runfolder import lock_output

    images_dir, out = Path(images_dir), Path(out_dir)
    files = list_images(images_dir)
    targets = {stem: out / f"{stem}.png" for stem in files}
    if out.is_dir() and not check_inside(images_dir, out):  # another segment writing: said first
        lock_output(out, SEGMENT_LOCK, "segment").release()
    check_out_folder(images_dir, out, files.values(), list(targets.values()), overwrite)
    cfg, nets = load_run(run_dir, device=device)
    for path in files.values():  # every image readable, in a mode we read, before any write
        check_image(path)
    make_folder(out, "--out folder")
    lock = lock_output(out, SEGMENT_LOCK, "segment")
    progress = progress or SegmentProgress(out, len(files))
    progress.total = len(files)
    try:  # checked again now that this process alone writes here
        check_out_folder(images_dir, out, files.values(), list(targets.values()), overwrite)
        for stem, path in tqdm(files.items(), desc="segment", unit="image", dynamic_ncols=True):
            labels = segment_image(nets["F"], to_rgb(open_image(path), str(path)), cfg.size)
            target = targets[stem]
            make_folder(target.parent, "--out folder")
            atomic_write(
                target,
                lambda f, a=labels: Image.fromarray(a, "L").save(f, format="PNG"),
                overwrite=overwrite,
            )
            progress.written.append(target)
    finally:
        lock.release()
    return progress.written


def check_image(path: Path) -> None:
    """Refuse, naming the file, an image that cannot be read or converted to RGB."""
    from .data import DataError

    raw = open_image(path)
    try:
        to_rgb(raw, str(path))
    except (ValueError, OSError) as e:
        raise DataError(f"{path}: cannot convert mode {raw.mode} to RGB ({e})") from None
