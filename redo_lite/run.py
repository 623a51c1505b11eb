"""Loading a trained run folder, and using it: evaluate a split, segment a folder of images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import checkpoint as ckpt
from .bilateral import guided_upsample
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


@torch.no_grad()
def segment_soft(F, img: Image.Image, size: int, resample=DOWNSCALE) -> torch.Tensor:
    """Soft masks (n, h, w) of one PIL image at the preprocessed scale (shorter side ``size``).

    The image goes through ``preprocess``'s resize; F sees ``size`` x ``size`` windows, exactly
    what training and ``evaluate`` show it: the centred window (so the centre crop's masks are
    ``evaluate``'s) and, for a non-square image, windows covering the rest of the long side.
    """
    im = resize_shorter(to_rgb(img), size, resample)
    w, h = im.size
    x = torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 127.5 - 1
    wide = w >= h
    length = w if wide else h
    offsets = window_offsets(length, size)
    crops = torch.stack([x[..., o : o + size] if wide else x[:, o : o + size] for o in offsets])
    masks = F(crops.to(next(F.parameters()).device)).cpu()  # windows, n, size, size
    out = torch.empty(masks.shape[1], h, w)
    index = {o: i for i, o in enumerate(offsets)}
    for p in range(length):
        o = owner(p, length, size)
        m = masks[index[o]]
        if wide:
            out[:, :, p] = m[:, :, p - o]
        else:
            out[:, p] = m[:, p - o]
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


def check_out_folder(images_dir: Path, out: Path, inputs, targets, overwrite: bool) -> None:
    """Refuse an output folder that is, or lies inside, the input folder; an output file that is
    an input file (through a link, say); and, unless ``overwrite``, any output that exists."""
    img_real, out_real = Path(images_dir).resolve(), Path(out).resolve()
    if (
        out_real == img_real
        or img_real in out_real.parents
        or (out.is_dir() and os.path.samefile(out, images_dir))
    ):
        raise WriteError(
            f"{out}: is inside --images {images_dir}; label maps would mix with (or replace) the "
            "images: choose an --out outside it"
        )
    if out.exists() and not out.is_dir():
        raise WriteError(f"{out}: exists and is not a folder; choose another --out")
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


def segment_folder(
    run_dir, images_dir, out_dir, overwrite: bool = False, device=None
) -> list[Path]:
    """Write OUT/<stem>.png (uint8 label map at each input's displayed size) for every image.
    Everything is checked first (the folders, every input image, the run), so a bad input stops
    the job before anything is written; nothing in --images is ever written, and nothing in OUT
    is replaced without ``overwrite``. F runs on ``device`` (the CPU by default)."""
    images_dir, out = Path(images_dir), Path(out_dir)
    files = list_images(images_dir)
    targets = {stem: out / f"{stem}.png" for stem in files}
    check_out_folder(images_dir, out, files.values(), list(targets.values()), overwrite)
    cfg, nets = load_run(run_dir, device=device)
    images = {stem: open_image(p) for stem, p in files.items()}
    make_folder(out, "--out folder")
    written = []
    for stem, img in images.items():
        labels = segment_image(nets["F"], img, cfg.size)
        path = targets[stem]
        make_folder(path.parent, "--out folder")
        atomic_write(path, lambda f, a=labels: Image.fromarray(a, "L").save(f, format="PNG"))
        written.append(path)
    return written
