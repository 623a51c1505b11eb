"""Reading the one on-disk format every data set is written in::

    DIR/images/<stem>.png|jpg|jpeg   images of any size and mode
    DIR/masks/<stem>.png             optional uint8 label maps, 0..n-1, same size as the image
    DIR/splits/{train,val,test}.txt  optional, one stem a line

Images go through ``preprocess``, the one preprocessing of training, evaluation and
segmentation: the shorter side to ``size`` by area averaging, the centred ``size`` x ``size``
square, values scaled to [-1, 1]. No augmentation. Masks get the same geometry (each pixel takes
the label covering most of it). Everything is checked and loaded into memory up front, so a bad
file stops the run *before* training starts, with a message that names it.

Documented conversions: grayscale, palette, CMYK and 16-bit images are converted to 8-bit RGB
(16-bit values are scaled by 1/257); RGBA and LA are composited on white.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

IMAGE_EXTS = (".png", ".jpg", ".jpeg")
BOX = Image.Resampling.BOX
DOWNSCALE = BOX  # area averaging: see ``preprocess``


class DataError(ValueError):
    """A problem with a data file; the message names the file."""


def to_rgb(img: Image.Image) -> Image.Image:
    """Any PIL mode -> 8-bit RGB (see the module docstring for the conversions)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.float64)
        scale = 257.0 if a.max() > 255 or img.mode.startswith("I;16") else 1.0
        img = Image.fromarray(np.clip(a / scale, 0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img.convert("RGBA"))
    return img.convert("RGB")


def open_image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Image.DecompressionBombError as e:
        raise DataError(f"{path}: image too large to read safely ({e})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise DataError(f"{path}: cannot read this image ({type(e).__name__}: {e})") from None


def resize_shorter(img: Image.Image, size: int, resample=DOWNSCALE) -> Image.Image:
    """Scale so that the shorter side is ``size`` (the longer one keeps the aspect ratio)."""
    w, h = img.size
    s = size / min(w, h)
    return img.resize((max(size, round(w * s)), max(size, round(h * s))), resample)


def centre_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centred size x size square of a width x height image."""
    left, top = (width - size) // 2, (height - size) // 2
    return left, top, left + size, top + size


def preprocess(img: Image.Image, size: int, resample=DOWNSCALE) -> Image.Image:
    """The one preprocessing of redo_lite, for training, ``evaluate`` and ``segment`` alike:
    shorter side -> ``size`` by area averaging (box filter), then the centred square.

    Why area averaging: a thin stroke survives it as a blend of its colour and the background's,
    where nearest neighbour keeps one source pixel in every k x k block and drops strokes that
    fall between them. On colored-2-MNIST drawn the official way at 128 px and brought to 32 px,
    the best any 32 px labelling can do against the 128 px ground truth (a perfect labeller,
    ``benchmarks/preprocessing.py``) is docs/c2mnist.md's "one preprocessing" table. The data
    sets' own builders (``data_prep.flowers``, ``.cub``, ``.lfw``) keep the official code's
    nearest neighbour (``resample=Image.NEAREST``): that defines the data, as in the paper.
    """
    img = resize_shorter(img, size, resample)
    return img.crop(centre_box(*img.size, size))


def resize_labels(labels: np.ndarray, width: int, height: int) -> np.ndarray:
    """A label map (H,W uint8) resized by the same box filter: every output pixel takes the
    label that covers most of its area (ties to the lower label)."""
    if labels.shape == (height, width):
        return labels
    planes = [
        np.asarray(
            Image.fromarray((labels == k).astype(np.float32), "F").resize((width, height), BOX)
        )
        for k in range(int(labels.max()) + 1)
    ]
    return np.argmax(np.stack(planes), 0).astype(np.uint8)


def preprocess_labels(labels: np.ndarray, size: int) -> np.ndarray:
    """A ground-truth label map through ``preprocess``'s geometry (area majority, centre crop)."""
    h, w = labels.shape
    s = size / min(w, h)
    nw, nh = max(size, round(w * s)), max(size, round(h * s))
    left, top, right, bottom = centre_box(nw, nh, size)
    return resize_labels(labels, nw, nh)[top:bottom, left:right]


def list_images(folder: Path) -> dict[str, Path]:
    """stem -> path for every image in a folder; two files with one stem is an error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    found: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in IMAGE_EXTS and p.is_file():
            if p.stem in found:
                raise DataError(
                    f"{p}: duplicate stem {p.stem!r} (also {found[p.stem].name}); "
                    "keep one file per stem"
                )
            found[p.stem] = p
    if not found:
        raise DataError(f"{folder}: no .png/.jpg images here")
    return found


def read_split(root: Path, split: str | None, images: dict[str, Path]) -> list[str]:
    if split is None:
        return sorted(images)
    path = Path(root) / "splits" / f"{split}.txt"
    if not path.exists():
        raise DataError(
            f"{path}: split file not found (available: "
            f"{', '.join(sorted(p.stem for p in path.parent.glob('*.txt'))) or 'none'})"
        )
    stems = [s.strip() for s in path.read_text(encoding="utf-8").splitlines() if s.strip()]
    missing = [s for s in stems if s not in images]
    if missing:
        raise DataError(
            f"{path}: lists {len(missing)} stem(s) with no image in {root}/images, "
            f"e.g. {missing[0]!r}"
        )
    if not stems:
        raise DataError(f"{path}: empty split file")
    return stems


def load_mask(path: Path, image_size: tuple[int, int], regions: int) -> Image.Image:
    mask = open_image(path)
    if mask.size != image_size:
        raise DataError(
            f"{path}: mask is {mask.size[0]}x{mask.size[1]} but its image is "
            f"{image_size[0]}x{image_size[1]}"
        )
    if mask.mode not in ("L", "P", "1"):
        raise DataError(
            f"{path}: a mask must be a single-channel label map (mode L), got mode {mask.mode}"
        )
    arr = np.asarray(mask.convert("L") if mask.mode == "1" else mask)
    if mask.mode == "1":
        arr = (arr > 0).astype(np.uint8)
    top = int(arr.max())
    if top >= regions:
        raise DataError(
            f"{path}: label {top} found but regions = {regions} (labels must be 0..{regions - 1})"
        )
    return Image.fromarray(arr.astype(np.uint8), "L")


class ImageFolderData:
    """A split of a data folder, preprocessed and held in memory as uint8 tensors.

    ``images``: N,3,S,S uint8; ``masks``: N,S,S uint8 or None; ``stems``: list of N stems.
    ``batch(idx)`` returns images in [-1, 1] (and masks as int64).
    """

    def __init__(
        self,
        root,
        split: str | None = "train",
        size: int = 32,
        regions: int = 2,
        need_masks: bool = False,
        limit: int | None = None,
        masks: str = "all",
    ):
        """``masks``: "all" (a split has a mask for every image or for none; one missing is an
        error), "where present" (a split may mix images with and without masks: ``has_mask`` says
        which, and evaluation scores only those — Flowers+LFW's train split), or "none" (images
        only: training needs no masks)."""
        if masks not in ("all", "where present", "none"):
            raise ValueError(f"masks must be 'all', 'where present' or 'none', got {masks!r}")
        self.root = Path(root)
        all_images = list_images(self.root / "images")
        has_splits = (self.root / "splits").is_dir()
        self.stems = read_split(self.root, split if has_splits else None, all_images)
        if limit:
            self.stems = self.stems[:limit]
        mask_dir = self.root / "masks"
        have = [
            masks != "none" and mask_dir.is_dir() and (mask_dir / f"{s}.png").exists()
            for s in self.stems
        ]
        if any(have) and not all(have) and masks == "all":  # some but not all: a missing file
            stem = self.stems[have.index(False)]
            raise DataError(
                f"{mask_dir / (stem + '.png')}: mask missing for image {all_images[stem].name}"
            )
        if need_masks and not any(have):
            raise DataError(f"{mask_dir}: ground-truth masks are needed here but there are none")
        imgs, mask_arrays = [], []
        for stem, with_mask in zip(self.stems, have, strict=True):
            path = all_images[stem]
            img = to_rgb(open_image(path))
            imgs.append(np.asarray(preprocess(img, size)))
            if with_mask:
                mask = load_mask(mask_dir / f"{stem}.png", img.size, regions)
                mask_arrays.append(preprocess_labels(np.asarray(mask), size))
            elif any(have):  # "where present": a placeholder that has_mask marks as absent
                mask_arrays.append(np.zeros((size, size), np.uint8))
        self.images = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()
        self.masks = torch.from_numpy(np.stack(mask_arrays)) if any(have) else None
        self.has_mask = torch.tensor(have) if any(have) and not all(have) else None
        self.size, self.regions = size, regions

    def __len__(self):
        return len(self.stems)

    def batch(self, idx):
        x = self.images[idx].float() / 127.5 - 1
        return x, (self.masks[idx].long() if self.masks is not None else None)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] for display."""
    return (x.clamp(-1, 1) + 1) / 2
