"""Writing the common on-disk format (images/, masks/, splits/), atomically and idempotently."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image


def _atomic_save(img: Image.Image, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    img.save(tmp, format="PNG")
    os.replace(tmp, path)


class DatasetWriter:
    """Writes one sample at a time; a sample whose files already exist is skipped, so an
    interrupted build resumes where it stopped."""

    def __init__(self, out: Path):
        self.out = Path(out)
        for sub in ("images", "masks", "splits"):
            (self.out / sub).mkdir(parents=True, exist_ok=True)
        self.splits: dict[str, list[str]] = {}

    def exists(self, stem: str, with_mask: bool = True) -> bool:
        return (self.out / "images" / f"{stem}.png").exists() and (
            not with_mask or (self.out / "masks" / f"{stem}.png").exists()
        )

    def add(
        self, split: str, stem: str, image: np.ndarray | None = None, mask: np.ndarray | None = None
    ):
        """image: H,W,3 uint8; mask: H,W uint8 label map. None = already on disk."""
        if image is not None:
            _atomic_save(Image.fromarray(image, "RGB"), self.out / "images" / f"{stem}.png")
        if mask is not None:
            _atomic_save(Image.fromarray(mask, "L"), self.out / "masks" / f"{stem}.png")
        self.splits.setdefault(split, []).append(stem)

    def fill(self, split: str, count: int, make_sample) -> None:
        """Write ``count`` samples named <split>_00000... from ``make_sample()`` -> (image, mask).
        Every sample is drawn even when its files exist, so the random stream (and so every
        image) is the same whether the build is fresh or resumed."""
        for i in range(count):
            stem = f"{split}_{i:05d}"
            image, mask = make_sample()
            self.add(split, stem, *((None, None) if self.exists(stem) else (image, mask)))

    def finish(self, info: dict) -> dict:
        """Write the split files and info.json (last, so a finished folder is a complete one)."""
        for split, stems in self.splits.items():
            tmp = self.out / "splits" / f"{split}.txt.tmp"
            tmp.write_text("".join(s + "\n" for s in stems))
            os.replace(tmp, self.out / "splits" / f"{split}.txt")
        tmp = self.out / "info.json.tmp"
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        os.replace(tmp, self.out / "info.json")
        print(f"wrote {self.out}: " + ", ".join(f"{k} {len(v)}" for k, v in self.splits.items()))
        return info


def source_parser(doc: str, size: int = 128) -> argparse.ArgumentParser:
    """The options every data set script shares: --out, --from (no download), --size."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument(
        "--from",
        dest="src",
        type=Path,
        help="a folder with the extracted data or the downloaded files "
        "(then nothing is downloaded)",
    )
    ap.add_argument("--size", type=int, default=size)
    return ap


def arg_parser(doc: str, train: int, val: int, test: int) -> argparse.ArgumentParser:
    """The options every synthetic builder shares: --out --size --seed --train --val --test."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=train)
    ap.add_argument("--val", type=int, default=val)
    ap.add_argument("--test", type=int, default=test)
    return ap


def fetch_sources(
    src: Path | None, work: Path, files: list[tuple[str, str, str | None]], ready: list[str]
) -> Path:
    """Where the upstream files are, extracted. ``files``: (file name, url, md5) of each archive or
    file; ``ready``: paths that exist once everything is extracted.

    * ``src`` a folder that already holds ``ready``: used as it is (nothing is copied);
    * ``src`` a folder holding the downloaded files (archives): extracted safely into ``work/raw``;
    * ``src`` None: everything is downloaded into ``work/downloads`` (checksums verified), then
      extracted.
    """
    from .download import download, safe_extract

    if src is not None and all((Path(src) / r).exists() for r in ready):
        print(f"using the extracted files in {src}")
        return Path(src)
    raw = work / "raw"
    for name, url, md5 in files:
        if src is not None:
            path = Path(src) / name
            if not path.exists():
                raise FileNotFoundError(
                    f"{path}: not found; --from must hold either the extracted data "
                    f"({', '.join(ready)}) or the downloaded files "
                    f"({', '.join(f[0] for f in files)})"
                )
        else:
            path = download(url, work / "downloads" / name, md5=md5)
        if name.endswith((".tgz", ".tar.gz", ".tar", ".zip")):
            print(f"extracting {path.name}")
            safe_extract(path, raw)
        else:
            raw.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, raw / name)
    missing = [r for r in ready if not (raw / r).exists()]
    if missing:
        raise FileNotFoundError(
            f"{raw}: after extraction {missing[0]} is still missing; are these the right archives?"
        )
    return raw


def same_size(img, img_path: Path, mask_img, mask_path: Path) -> None:
    """Refuse an image and its mask of different sizes, naming both files."""
    if mask_img.size != img.size:
        raise ValueError(
            f"{mask_path}: size {mask_img.size[0]}x{mask_img.size[1]} differs from its image "
            f"{img_path.name} ({img.size[0]}x{img.size[1]})"
        )


def square(img, size: int, mask=None):
    """The official code's preprocessing, which defines these data sets: shorter side to ``size``
    with nearest neighbour, centre crop, for the image and (same geometry) its label map. Returns
    uint8 arrays. (Training, evaluation and segmentation then read them with ``redo_lite.data.
    preprocess``, which leaves an image already at the model's size as it is.)"""
    from PIL import Image

    from redo_lite.data import preprocess, to_rgb

    out = np.asarray(preprocess(to_rgb(img), size, Image.NEAREST))
    if mask is None:
        return out, None
    label_map = Image.fromarray(mask.astype(np.uint8), "L")
    return out, np.asarray(preprocess(label_map, size, Image.NEAREST))
