"""Reading the one on-disk format every data set is written in::

    DIR/images/<stem>.<ext>          images of any size and mode, in any format Pillow reads
                                     (.png, .jpg, .webp, .bmp, .tif, ...; any letter case);
                                     subfolders allowed: the stem is then ``sub/name``
    DIR/masks/<stem>.<ext>           optional uint8 label maps, 0..n-1, same size as the image
                                     (lossless: PNG, BMP, TIFF, ...; a JPEG mask is refused)
    DIR/splits/{train,val,test}.txt  optional, one stem a line (UTF-8, a BOM and CRLF are fine)

Images go through ``preprocess``, the one preprocessing of training, evaluation and
segmentation: the shorter side to ``size`` by area averaging, the centred ``size`` x ``size``
square, values scaled to [-1, 1]. No augmentation. Masks get the same geometry (each pixel takes
the label covering most of it). Everything is checked and loaded into memory up front, so a bad
file stops the run *before* training starts, with a message that names it.

Every file is accounted for: a file Pillow cannot read, a FIFO or device (refused before it is
opened), a split file that lists a stem twice or a stem that is also in another split, two files
with one stem (``a.png`` and ``a.PNG``, or two Unicode spellings of one name) all stop the run with
the file named; hidden files (``.DS_Store``, ``.ipynb_checkpoints``) and files that are not images
by their extension are skipped with a note saying so. Stems are compared in Unicode NFC form.

Documented conversions: the EXIF orientation of a photo (and of a mask) is applied first, so an
image is read as it is displayed; of an animated GIF or a multi-page TIFF the first frame is read
(with a note); grayscale, palette, CMYK, YCbCr, HSV, float and 16- and 32-bit integer images
are converted to 8-bit RGB by their range (16-bit values are scaled by 1/257, floats in [0, 1] by
255; a range that fits neither is stretched from its min..max, with a note); RGBA, LA, PA and a
transparent colour are composited on white; an image with NaN values, or in CIE L*a*b*, is
refused with the reason.
"""

from __future__ import annotations

import json
import os
import sys
import unicodedata
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .files import cause, check_regular, printable, read_text

BOX = Image.Resampling.BOX
DOWNSCALE = BOX  # area averaging: see ``preprocess``


class DataError(ValueError):
    """A problem with a data file; the message names the file."""


Image.init()
# every extension Pillow has a reader for (lower case); the file's content decides in the end
IMAGE_EXTS = tuple(
    sorted(ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN)
)
# images Pillow cannot read: refused by name rather than skipped
UNREADABLE = {
    ".heic": "HEIC",
    ".heif": "HEIF",
    ".avif": "AVIF",
    ".jxl": "JPEG XL",
    ".svg": "SVG",
    ".exr": "OpenEXR",
    ".hdr": "Radiance HDR",
    ".raw": "camera RAW",
    ".cr2": "camera RAW",
    ".cr3": "camera RAW",
    ".nef": "camera RAW",
    ".arw": "camera RAW",
    ".dng": "camera RAW",
    ".orf": "camera RAW",
    ".rw2": "camera RAW",
    ".raf": "camera RAW",
}
LOSSY = (".jpg", ".jpeg", ".jpe", ".jfif")  # a label map saved as JPEG has new labels at its edges

_noted: set[str] = set()


def note(message: str) -> None:
    """Say once (per process) on stderr what was skipped or changed, so nothing is silent."""
    if message not in _noted:
        _noted.add(message)
        print(printable(f"note: {message}"), file=sys.stderr)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _stretched(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Values from [lo, hi] to 0..255 (a constant image: 0)."""
    return (a - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(a)


def _to_gray8(img: Image.Image, name: str) -> Image.Image:
    """A float (F) or integer (I, I;16...) image as 8-bit grayscale, by its range: 16-bit values
    scaled by 1/257; 32-bit integers already in 0..255 kept, in 0..65535 scaled as 16-bit, any
    other range (negative values, beyond 16 bits) stretched from its min..max, with a note;
    floats in [0, 1] scaled by 255, in [0, 255] kept, others stretched, with a note. NaN or an
    infinity: refused."""
    a = np.asarray(img, dtype=np.float64)
    if not np.isfinite(a).all():
        raise ValueError(
            f"a {img.mode} image with NaN or infinite values; its pixels cannot be read as "
            "colours (save it with finite values, or as 8-bit PNG)"
        )
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    bits = "32-bit float" if img.mode == "F" else "32-bit integer"
    if img.mode.startswith("I;16"):
        a = a / 257.0  # 0..65535 -> 0..255
    elif img.mode == "F" and lo >= 0 and hi <= 1:
        a = a * 255.0
    elif lo >= 0 and hi <= 255:
        pass
    elif img.mode == "I" and lo >= 0 and hi <= 65535:
        a = a / 257.0  # 16-bit values stored as 32-bit integers
    else:
        note(
            f"{name}: a {bits} image with values from {lo:g} to {hi:g}; stretched to 0..255 "
            "(its own range)"
        )
        a = _stretched(a, lo, hi)
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")


def to_rgb(img: Image.Image, name: str = "an image") -> Image.Image:
    """Any PIL mode -> 8-bit RGB (see the module docstring for the conversions); a mode that has
    no faithful conversion is refused with ValueError saying why. ``name``: for notes."""
    mode = img.mode
    if mode == "F" or mode == "I" or mode.startswith("I;16"):
        img = _to_gray8(img, name)
    elif mode == "LAB":
        raise ValueError(
            "a CIE L*a*b* image (mode LAB): Pillow has no colour conversion from it to RGB; "
            "save it as RGB"
        )
    elif mode in ("La", "RGBa"):  # premultiplied alpha: divided out first
        img = img.convert("RGBA") if mode == "RGBa" else _unpremultiply_la(img)
    elif mode not in ("1", "L", "P", "PA", "LA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "HSV"):
        raise ValueError(f"mode {mode}: not a mode Pillow converts to RGB; save it as RGB")
    if img.mode in ("P", "PA") or "transparency" in img.info:  # a palette or a transparent colour
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):  # composited on white
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img.convert("RGBA"))
    return img.convert("RGB")


def _unpremultiply_la(img: Image.Image) -> Image.Image:
    a = np.asarray(img, dtype=np.float64)
    alpha = a[..., 1:2]
    gray = np.where(alpha > 0, a[..., :1] * 255.0 / np.maximum(alpha, 1), 0)
    la = np.concatenate([np.clip(np.rint(gray), 0, 255), alpha], -1).astype(np.uint8)
    return Image.fromarray(la, "LA")


def open_image(path: Path, orient: bool = True) -> Image.Image:
    """A file read whole into memory, its EXIF orientation applied (``orient``); a FIFO or device
    is refused before it is opened. ``img.info["exif_orientation"]``: the tag that was applied."""
    check_regular(path, "image file", DataError)
    try:
        with Image.open(path) as im:
            im.load()
            turn = im.getexif().get(0x0112, 1) if orient else 1
            if getattr(im, "n_frames", 1) > 1:
                note(f"{path}: {im.n_frames} frames (animated or multi-page); the first is used")
            img = ImageOps.exif_transpose(im) if turn not in (1, None) else im.copy()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Image.DecompressionBombError as e:
        raise DataError(f"{path}: image too large to read safely ({e})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        kind = UNREADABLE.get(Path(path).suffix.lower())
        hint = f" ({kind} is not a format Pillow reads; convert it to PNG)" if kind else ""
        raise DataError(f"{path}: cannot read this image ({type(e).__name__}: {e}){hint}") from None
    img.info["exif_orientation"] = turn
    return img


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
    ``benchmarks/probes/preprocessing.py``) is docs/c2mnist.md's "one preprocessing" table. The data
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


def list_images(folder: Path, what: str = "images", allow_empty: bool = False) -> dict[str, Path]:
    """stem -> path for every image under a folder (subfolders included: stem ``sub/name``).

    Two files with one stem (``a.png`` and ``a.jpg``, or ``a.png`` and ``a.PNG``) are an error;
    so is a FIFO, device or broken link (refused before anything opens it), and a known image
    format Pillow cannot read. Hidden entries and files that are not images by their extension
    are skipped, with a note."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise DataError(f"{folder}: is a file, not a folder of {what}")
    found: dict[str, Path] = {}
    hidden, other = [], []
    seen_dirs = set()

    def unreadable(e: OSError):
        raise DataError(f"{e.filename}: cannot list this folder ({cause(e)})")

    for top, dirs, files in os.walk(folder, onerror=unreadable, followlinks=True):
        real = os.path.realpath(top)
        if real in seen_dirs:  # a link back up the tree: walk it once
            dirs[:] = []
            continue
        seen_dirs.add(real)
        hidden += [Path(top, d) for d in dirs if d.startswith(".")]
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            p = Path(top, name)
            if name.startswith("."):
                hidden.append(p)
                continue
            ext = p.suffix.lower()
            if ext in UNREADABLE:
                raise DataError(
                    f"{p}: {UNREADABLE[ext]} is not a format Pillow reads; convert it to PNG "
                    "(or move it out of the folder)"
                )
            if ext not in IMAGE_EXTS:
                if not p.is_file() and not p.is_dir():
                    check_regular(p, "file", DataError)  # a FIFO or broken link: named
                other.append(p)
                continue
            check_regular(p, "image file", DataError)
            stem = nfc(p.relative_to(folder).with_suffix("").as_posix())
            if stem in found:
                raise DataError(
                    f"{p}: duplicate stem {stem!r} (also {found[stem].relative_to(folder)}); "
                    "keep one file per stem"
                )
            found[stem] = p
    if hidden:
        note(
            f"{folder}: skipped {len(hidden)} hidden file(s) or folder(s), e.g. "
            f"{hidden[0].relative_to(folder)}"
        )
    if other:
        note(
            f"{folder}: skipped {len(other)} file(s) that are not images by their extension, "
            f"e.g. {other[0].relative_to(folder)}"
        )
    if not found and not allow_empty:
        raise DataError(
            f"{folder}: no images here (read: .png, .jpg, .webp, .bmp, .tif and every other format "
            f"Pillow reads{'; skipped ' + str(len(other)) + ' other file(s)' if other else ''})"
        )
    return found


def split_path(root: Path, split: str) -> Path:
    return Path(root) / "splits" / f"{split}.txt"


def read_split_file(path: Path) -> list[str]:
    """The stems of a split file, in order: one a line, surrounding spaces and blank lines ignored,
    NFC form; a stem listed twice is an error naming both lines."""
    text = read_text(path, "split file", DataError)
    stems, first = [], {}
    for n, line in enumerate(text.splitlines(), 1):
        stem = nfc(line.strip())
        if not stem:
            continue
        if stem in first:
            raise DataError(
                f"{path}:{n}: {stem!r} is listed twice (also on line {first[stem]}); "
                "list each stem once"
            )
        first[stem] = n
        stems.append(stem)
    return stems


def check_split_overlap(root: Path) -> None:
    """Refuse train, val and test split files that share stems (a validation or test image seen
    in training, or scored twice), naming both files and an example. Other split files (a
    ``trainval.txt``, say) may overlap on purpose."""
    folder = Path(root) / "splits"
    if not folder.is_dir():
        return
    splits = {}
    for name in ("train.txt", "val.txt", "test.txt"):
        if (folder / name).exists() or (folder / name).is_symlink():
            splits[name] = set(read_split_file(folder / name))
    names = sorted(splits)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            both = splits[a] & splits[b]
            if both:
                raise DataError(
                    f"{folder}: {len(both)} stem(s) are in both {a} and {b}, e.g. "
                    f"{sorted(both)[0]!r}; a stem belongs to one split"
                )


def read_split(root: Path, split: str | None, images: dict[str, Path]) -> list[str]:
    if split is None:
        return sorted(images)
    path = split_path(root, split)
    if not path.exists() and not path.is_symlink():
        raise DataError(
            f"{path}: split file not found (available: "
            f"{', '.join(sorted(p.stem for p in path.parent.glob('*.txt'))) or 'none'})"
        )
    stems = read_split_file(path)
    missing = [s for s in stems if s not in images]
    if missing:
        hint = ""
        if Path(missing[0]).suffix.lower() in IMAGE_EXTS and Path(missing[0]).stem in images:
            hint = f" (list stems without the extension: {Path(missing[0]).stem!r})"
        raise DataError(
            f"{path}: lists {len(missing)} stem(s) with no image in {Path(root) / 'images'}, "
            f"e.g. {missing[0]!r}{hint}"
        )
    if not stems:
        raise DataError(f"{path}: empty split file")
    return stems


def load_mask(path: Path, image: Image.Image | tuple[int, int], regions: int) -> Image.Image:
    """A label map checked against its image (size as displayed) and the number of regions."""
    if Path(path).suffix.lower() in LOSSY:
        raise DataError(
            f"{path}: a mask must be saved losslessly (PNG); JPEG compression adds new labels "
            "at every edge"
        )
    mask = open_image(path)
    size = image if isinstance(image, tuple) else image.size
    if mask.size != size:
        turned = "" if isinstance(image, tuple) else image.info.get("exif_orientation", 1)
        hint = (
            f" as displayed (its EXIF orientation {turned} is applied; the mask must match the "
            "displayed image)"
            if turned not in ("", 1, None)
            else ""
        )
        raise DataError(
            f"{path}: mask is {mask.size[0]}x{mask.size[1]} but its image is "
            f"{size[0]}x{size[1]}{hint}"
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
        only: list[str] | None = None,
    ):
        """``masks``: "all" (a split has a mask for every image or for none; one missing is an
        error), "where present" (a split may mix images with and without masks: ``has_mask`` says
        which, and evaluation scores only those — Flowers+LFW's train split), or "none" (images
        only: training needs no masks). ``only``: just these stems of the split, in this order
        (``labelled_split``'s subset)."""
        if masks not in ("all", "where present", "none"):
            raise ValueError(f"masks must be 'all', 'where present' or 'none', got {masks!r}")
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(
                f"{self.root}: "
                + ("no such folder" if not self.root.exists() else "is a file, not a data folder")
            )
        all_images = list_images(self.root / "images")
        has_splits = (self.root / "splits").is_dir()
        if has_splits:
            check_split_overlap(self.root)
        self.stems = read_split(self.root, split if has_splits else None, all_images)
        if only is not None:
            outside = sorted(set(only) - set(self.stems))
            if outside:
                raise DataError(f"{self.root}: {outside[0]!r} is not in split {split!r}")
            self.stems = list(only)
        if limit:
            self.stems = self.stems[:limit]
        self.holds = None  # what the images are, when the folder fuses several data sets
        mask_dir = self.root / "masks"
        if mask_dir.exists() and not mask_dir.is_dir():
            raise DataError(f"{mask_dir}: is a file, not a folder of masks")
        mask_files = (
            list_images(mask_dir, "masks", allow_empty=True)
            if masks != "none" and mask_dir.is_dir()
            else {}
        )
        orphans = sorted(set(mask_files) - set(all_images))
        if orphans:
            note(
                f"{mask_dir}: {len(orphans)} mask(s) have no image and are not used, e.g. "
                f"{mask_files[orphans[0]].name}"
            )
        have = [s in mask_files for s in self.stems]
        if any(have) and not all(have) and masks == "all":  # some but not all: a missing file
            stem = self.stems[have.index(False)]
            raise DataError(
                f"{mask_dir / (stem + '.png')}: mask missing for image {all_images[stem].name} "
                f"({sum(have)} of the {len(have)} images of this split have one)"
            )
        if any(have) and not all(have) and masks == "where present":
            stem = self.stems[have.index(False)]
            note(
                f"{mask_dir}: {len(have) - sum(have)} of the {len(have)} images of "
                f"{'split ' + repr(split) if split and has_splits else 'this folder'} have no mask "
                f"(e.g. {all_images[stem].name}); they are not scored"
            )
        if need_masks and not any(have):
            where = f" of split {split!r}" if split and has_splits else ""
            raise DataError(
                f"{mask_dir}: ground-truth masks are needed here but none of the "
                f"{len(self.stems)} images{where} has one ({len(mask_files)} mask file(s) there)"
            )
        imgs, mask_arrays = [], []
        for stem, with_mask in zip(self.stems, have, strict=True):
            path = all_images[stem]
            raw = open_image(path)
            try:
                img = to_rgb(raw, str(path))
            except (ValueError, OSError) as e:
                raise DataError(f"{path}: cannot convert mode {raw.mode} to RGB ({e})") from None
            img.info["exif_orientation"] = raw.info.get("exif_orientation", 1)
            imgs.append(np.asarray(preprocess(img, size)))
            if with_mask:
                mask = load_mask(mask_files[stem], img, regions)
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

    def fingerprint(self) -> dict:
        """What this split is, in a few bytes: its size and a hash of its stems and of the
        preprocessed pixels (and labels) the model sees. Two runs on the same data agree."""
        import hashlib

        h = hashlib.blake2b(digest_size=16)
        h.update("\n".join(self.stems).encode("utf-8", "surrogateescape"))
        h.update(self.images.numpy().tobytes())
        if self.masks is not None:
            h.update(self.masks.numpy().tobytes())
        return {"images": len(self), "hash": h.hexdigest()}


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] for display."""
    return (x.clamp(-1, 1) + 1) / 2


SUBSET_SEED = 0  # the subset of a fused split that validation scores: the same for every run


def data_parts(root: Path) -> list[str] | None:
    """The data sets a folder fuses (stems prefixed ``<part>_``), from its info.json: "parts", or
    for a Flowers+LFW folder written before info.json listed them, flowers and lfw. None when the
    folder holds one data set."""
    path = Path(root) / "info.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):
        return None
    parts = info.get("parts") if isinstance(info, dict) else None
    if parts is None and isinstance(info, dict) and info.get("name") == "flowers+lfw":
        parts = ["flowers", "lfw"]
    return [str(p) for p in parts] if isinstance(parts, list) and len(parts) > 1 else None


def fused_subset(stems: list[str], parts: list[str], limit: int) -> list[str]:
    """``limit`` of ``stems`` drawn across the fused data sets, each part in proportion to its
    count (largest remainder), at random within each part with ``SUBSET_SEED``; split order kept.
    """
    groups = {p: [s for s in stems if s.startswith(p + "_")] for p in parts}
    exact = {p: limit * len(g) / len(stems) for p, g in groups.items()}
    take = {p: int(v) for p, v in exact.items()}
    for p in sorted(exact, key=lambda p: take[p] - exact[p])[: limit - sum(take.values())]:
        take[p] += 1
    gen, chosen = torch.Generator().manual_seed(SUBSET_SEED), set()
    for p, g in groups.items():
        chosen.update(g[i] for i in torch.randperm(len(g), generator=gen)[: take[p]].tolist())
    return [s for s in stems if s in chosen]


def labelled_split(root: Path, split: str, cfg, limit: int | None = None):
    """The images of a split that have a ground-truth mask, or None (no such split, or no mask).
    ``limit`` caps the labelled images: the first ``limit`` of the split, or in a folder that fuses
    several data sets (``data_parts``) a seeded subset that keeps each part's share
    (``fused_subset``). ``.holds`` then says how many images of each part it holds."""
    root = Path(root)
    if not (root / "splits" / f"{split}.txt").exists():
        return None
    only, parts = None, data_parts(root)
    if limit or parts:
        images = list_images(root / "images")
        masks = root / "masks"
        with_mask = list_images(masks, "masks", allow_empty=True) if masks.is_dir() else {}
        only = [s for s in read_split(root, split, images) if s in with_mask]
        if not only:
            return None
        if limit and len(only) > limit:
            only = fused_subset(only, parts, limit) if parts else only[:limit]
    data = ImageFolderData(root, split, cfg.size, cfg.regions, masks="where present", only=only)
    if data.masks is None:
        return None
    if parts:
        data.holds = {p: sum(s.startswith(p + "_") for s in data.stems) for p in parts}
    return data
