"""Writing the common on-disk format (images/, masks/, splits/), atomically and idempotently."""
from __future__ import annotations

import argparse
import json
import os
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
            not with_mask or (self.out / "masks" / f"{stem}.png").exists())

    def add(self, split: str, stem: str, image: np.ndarray | None = None, mask: np.ndarray | None = None):
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

    def finish(self, info: dict) -> None:
        for split, stems in self.splits.items():
            tmp = self.out / "splits" / f"{split}.txt.tmp"
            tmp.write_text("".join(s + "\n" for s in stems))
            os.replace(tmp, self.out / "splits" / f"{split}.txt")
        tmp = self.out / "info.json.tmp"
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        os.replace(tmp, self.out / "info.json")


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
