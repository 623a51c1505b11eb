"""Loading a trained run folder, and using it: evaluate a split, segment a folder of images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import checkpoint as ckpt
from .config import Config
from .data import ImageFolderData, list_images, open_image, to_rgb
from .nets import build_nets


def load_run(run_dir, which: str = "best", device=None) -> tuple[Config, dict]:
    """(config, networks in eval mode, on ``device``: the CPU by default) from RUN/config.json and
    RUN/best.pt (or last.pt)."""
    run = Path(run_dir)
    cfg = Config.load(run / "config.json")
    path = run / f"{which}.pt"
    if which == "best" and not path.exists():
        path = run / "last.pt"
    state = ckpt.load(path)
    if not isinstance(state, dict) or "nets" not in state:
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


@torch.no_grad()
def segment_image(F, img: Image.Image, size: int) -> np.ndarray:
    """Label map (uint8, the image's own size) for one PIL image: the whole image is resized to
    size x size (no crop, so every pixel gets a label), segmented, and the labels resized back
    with nearest neighbour."""
    x = torch.from_numpy(np.asarray(to_rgb(img).resize((size, size), Image.BILINEAR))).permute(
        2, 0, 1
    )
    labels = F(x[None].float() / 127.5 - 1).argmax(1)[0].to(torch.uint8).numpy()
    return np.asarray(Image.fromarray(labels, "L").resize(img.size, Image.NEAREST))


def segment_folder(run_dir, images_dir, out_dir) -> list[Path]:
    """Write OUT/<stem>.png (uint8 label map at each input's size) for every image. All inputs
    are read and checked first, so a bad file stops the job before anything is written."""
    cfg, nets = load_run(run_dir)
    files = list_images(Path(images_dir))
    images = {stem: open_image(p) for stem, p in files.items()}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, img in images.items():
        labels = segment_image(nets["F"], img, cfg.size)
        path = out / f"{stem}.png"
        tmp = path.with_name(path.name + ".tmp")
        Image.fromarray(labels, "L").save(tmp, format="PNG")
        tmp.replace(path)
        written.append(path)
    return written
