r"""Caltech-UCSD Birds 200-2011 with its segmentations, as the official ReDO code prepares it.

* files: ``CUB_200_2011/images.txt`` (``id path``), ``CUB_200_2011/images/<path>`` (archive
  ``CUB_200_2011.tgz``) and ``segmentations/<path>.png`` (archive ``segmentations.tgz``). No MD5 is
  published with these; the download is kept unverified and says so;
* split: ReDO's own ``datasplits/cub/train_val_test_split.txt`` (``id code``; 0 train = 10000,
  1 val = 788, 2 test = 1000), not CUB's official train/test split;
* mask: the soft segmentation PNG, resized with nearest neighbour, foreground where > 0.5 (the TF2
  reproduction uses >= 0.9 max, stricter);
* shorter side to 128 with nearest neighbour, centre crop.

    python -m data_prep.cub --out data/cub [--from PATH] [--split FILE] [--size 128]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redo_lite.files import read_text

from .common import DatasetWriter, fetch_sources, same_size, script_main, source_parser, square
from .download import DownloadError, download

FILES = [
    (
        "CUB_200_2011.tgz",
        "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz",
        None,
    ),
    (
        "segmentations.tgz",
        "https://data.caltech.edu/records/w9d68-gec53/files/segmentations.tgz",
        None,
    ),
]
READY = ["CUB_200_2011/images.txt", "CUB_200_2011/images", "segmentations"]
SPLIT_URL = "https://raw.githubusercontent.com/mickaelChen/ReDO/master/datasplits/cub/train_val_test_split.txt"
CODES = {"0": "train", "1": "val", "2": "test"}


def bird_mask(seg) -> np.ndarray:
    a = np.asarray(seg.convert("L"), dtype=np.float32) / 255
    return (a > 0.5).astype(np.uint8)


def build(
    out: Path, src: Path | None = None, split_file: Path | None = None, size: int = 128
) -> dict:
    from redo_lite.data import open_image

    out = Path(out)
    writer, counts = DatasetWriter(out, "cub", {"size": size}), {"train": 0, "val": 0, "test": 0}
    root = fetch_sources(src, out / "_work", FILES, READY, writer.create)
    if split_file is None:
        writer.create()
        try:
            split_file = download(SPLIT_URL, out / "_work" / "train_val_test_split.txt")
        except DownloadError as e:
            raise DownloadError(
                f"{e}; pass --split FILE, ReDO's datasplits/cub/train_val_test_split.txt"
            ) from None
    index = root / "CUB_200_2011" / "images.txt"
    paths = {}
    for n, line in enumerate(read_text(index, "images.txt").splitlines(), 1):
        if not line.strip():
            continue
        idx, sep, rel = line.strip().partition(" ")
        if not sep or not rel.strip():
            raise ValueError(f"{index}:{n}: expected 'id path', got {line!r}")
        if idx in paths:
            raise ValueError(f"{index}:{n}: image id {idx} is listed twice")
        paths[idx] = rel.strip()
    stems, written = {}, {}
    for n, line in enumerate(read_text(split_file, "split file").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) < 2 or fields[1] not in CODES or fields[0] not in paths:
            raise ValueError(f"{split_file}:{n}: unknown image id or split code in {line!r}")
        idx, code = fields[:2]
        if idx in stems:
            raise ValueError(f"{split_file}:{n}: image id {idx} is listed twice")
        stems[idx] = n
        split, rel = CODES[code], paths[idx]
        stem = Path(rel).stem
        if stem in written:
            raise ValueError(
                f"{index}: images {written[stem]} and {idx} have one file name {stem!r}; "
                "the data folder keeps one file per name"
            )
        written[stem] = idx
        counts[split] += 1
        if writer.exists(stem):
            writer.add(split, stem)
            continue
        img_path, seg_path = (
            root / "CUB_200_2011" / "images" / rel,
            root / "segmentations" / Path(rel).with_suffix(".png"),
        )
        img, seg = open_image(img_path), open_image(seg_path)
        same_size(img, img_path, seg, seg_path)
        writer.add(split, stem, *square(img, size, bird_mask(seg), img_path))
    info = {
        "name": "cub",
        "regions": 2,
        "size": size,
        "labels": {"0": "background", "1": "bird"},
        "splits": "ReDO datasplits/cub/train_val_test_split.txt",
        "counts": counts,
    }
    return writer.finish(info)


def main(argv=None):
    ap = source_parser(__doc__)
    ap.add_argument("--split", type=Path, help="ReDO's train_val_test_split.txt (else downloaded)")
    script_main(ap, lambda a: build(a.out, a.src, a.split, a.size), argv)


if __name__ == "__main__":
    main()
