"""Loading a trained run folder, and using it: evaluate a split, segment a folder of images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import checkpoint as ckpt
from .config import Config
from .data import DOWNSCALE, ImageFolderData, list_images, open_image, resize_shorter, to_rgb
from .nets import build_nets

UPSAMPLE = "guided"  # how labels go back to an image's own size (segment_image)


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
def guided_upsample(
    soft: torch.Tensor,
    small: torch.Tensor,
    big: torch.Tensor,
    radius: int = 2,
    sigma_space: float = 1.0,
    sigma_colour: float = 0.1,
    rows: int = 64,
) -> torch.Tensor:
    r"""Joint bilateral upsampling (Kopf et al., 2007): soft masks (n,h,w) of the small image
    (3,h,w) to the size of the big one (3,H,W), both in [0, 1], guided by the big image's colours.

    :math:`\tilde m(p) = \frac{1}{k_p}\sum_{q} m(q)\, e^{-\|p_\downarrow - q\|^2 / 2\sigma_s^2}
    \,(e^{-\|I(p) - I_\downarrow(q)\|^2 / 2\sigma_c^2} + \epsilon)`, over the small image's pixels q
    within ``radius`` of p's place :math:`p_\downarrow` in it (distances in small pixels). A pixel
    takes the masks of the nearby small pixels that look like it, so an edge lands where the big
    image has it, not on the small image's grid. :math:`\epsilon` keeps a plain spatial blend
    where no neighbour's colour is close."""
    n, h, w = soft.shape
    H, W = big.shape[1:]
    k = 2 * radius + 1

    def unfold(t):  # C,h,w -> C, k*k, h, w: each small pixel's neighbourhood
        t = torch.nn.functional.pad(t[None], (radius,) * 4, mode="replicate")
        return torch.nn.functional.unfold(t, k).view(-1, k * k, h, w)

    masks, colours = unfold(soft), unfold(small)
    ys = (torch.arange(H) + 0.5) * h / H - 0.5  # p's place in the small image (pixel centres)
    xs = (torch.arange(W) + 0.5) * w / W - 0.5
    iy, ix = ys.round().clamp(0, h - 1).long(), xs.round().clamp(0, w - 1).long()
    d = torch.arange(-radius, radius + 1).float()
    dy, dx = d.repeat_interleave(k), d.repeat(k)  # offsets of the k*k neighbours
    out = torch.empty(n, H, W)
    for r0 in range(0, H, rows):  # a band of rows at a time: memory stays small
        r = slice(r0, min(H, r0 + rows))
        m, c = masks[:, :, iy[r]][..., ix], colours[:, :, iy[r]][..., ix]  # (n|3), k*k, rows, W
        space = (iy[None, r, None] + dy[:, None, None] - ys[None, r, None]) ** 2 + (
            ix[None, None] + dx[:, None, None] - xs[None, None]
        ) ** 2  # k*k, rows, W
        colour = ((c - big[:, None, r]) ** 2).sum(0)
        weight = torch.exp(-space / (2 * sigma_space**2)) * (
            torch.exp(-colour / (2 * sigma_colour**2)) + 1e-6
        )
        out[:, r] = (m * weight).sum(1) / weight.sum(0)
    return out


@torch.no_grad()
def segment_image(
    F, img: Image.Image, size: int, upsample: str = UPSAMPLE, resample=DOWNSCALE
) -> np.ndarray:
    """Label map (uint8, the image's own size) for one PIL image: ``segment_soft``, then back to
    the image's size, by ``upsample``: ``"guided"`` (``guided_upsample``, the default),
    ``"bilinear"`` (soft masks resized bilinearly, labels taken after) or ``"nearest"`` (labels
    resized with nearest neighbour). docs/c2mnist.md measures the three
    (``benchmarks/preprocessing.py``)."""
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
