r"""Oxford Flowers 102 with its foreground masks, as the official ReDO code prepares it.

* files: ``jpg/image_%05d.jpg``, ``segmim/segmim_%05d.jpg``, ``setid.mat`` (the archives
  ``102flowers.tgz`` and ``102segmentations.tgz``, with the MD5s published alongside public
  loaders);
* splits as the official code (and the paper's 6149/1020/1020): **train = tstid, val = valid,
  test = trnid** — the set named "test" in setid.mat is the largest, and ReDO trains on it;
* mask, computed on the full-resolution segmim JPEG before any resize, exactly as the official code:
  background = (R == 0) | (G == 0) | (B == 254), foreground = the rest (label 1);
* images and masks: shorter side to 128 with nearest neighbour, centre crop (the official code; the
  TF2 reproduction squashes with bilinear resizing instead).

    python -m data_prep.flowers --out data/flowers [--from PATH] [--size 128]

Without ``--from`` it downloads. ``--from`` takes a folder with the extracted data or with the
downloaded files. Resumable and idempotent: images already written are skipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redo_lite.files import check_regular

from .common import DatasetWriter, fetch_sources, same_size, script_main, source_parser, square

URL = "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/"
FILES = [
    ("102flowers.tgz", URL + "102flowers.tgz", "52808999861908f626f3c1f4e79d11fa"),
    ("102segmentations.tgz", URL + "102segmentations.tgz", "51375996b6c4f367a4b9f4492d7ecef5"),
    ("setid.mat", URL + "setid.mat", "a5357ecc9cb78c4bef273ce3793fc85c"),
]
READY = ["jpg", "segmim", "setid.mat"]
SPLITS = {"train": "tstid", "val": "valid", "test": "trnid"}  # the official (swapped) use


def flower_mask(segmim) -> np.ndarray:
    """Foreground (1) where the segmentation image is not the blue background (official rule)."""
    a = np.asarray(segmim.convert("RGB"))
    background = (a[..., 0] == 0) | (a[..., 1] == 0) | (a[..., 2] == 254)
    return (~background).astype(np.uint8)


def read_splits(path: Path) -> dict[str, list[int]]:
    from scipy.io import loadmat

    check_regular(path, "setid.mat")
    try:
        mat = loadmat(path, squeeze_me=True)
        return {
            split: sorted(int(i) for i in np.atleast_1d(mat[key])) for split, key in SPLITS.items()
        }
    except Exception as e:  # scipy's MatReadError, KeyError, ...
        raise ValueError(f"{path}: not a Flowers setid.mat with tstid/valid/trnid ({e})") from None


def build(out: Path, src: Path | None = None, size: int = 128) -> dict:
    from redo_lite.data import open_image

    out = Path(out)
    writer = DatasetWriter(out, "flowers", {"size": size})
    root = fetch_sources(src, out / "_work", FILES, READY, writer.create)
    splits = read_splits(root / "setid.mat")
    for split, ids in splits.items():
        print(f"{split}: {len(ids)} images")
        for i in ids:
            stem = f"image_{i:05d}"
            if writer.exists(stem):
                writer.add(split, stem)
                continue
            img_path, seg_path = (
                root / "jpg" / f"{stem}.jpg",
                root / "segmim" / f"segmim_{i:05d}.jpg",
            )
            img, seg = open_image(img_path), open_image(seg_path)
            same_size(img, img_path, seg, seg_path)
            writer.add(split, stem, *square(img, size, flower_mask(seg), img_path))
    info = {
        "name": "flowers",
        "regions": 2,
        "size": size,
        "labels": {"0": "background", "1": "flower"},
        "splits": "train = tstid, val = valid, test = trnid (official ReDO code)",
        "counts": {k: len(v) for k, v in splits.items()},
    }
    return writer.finish(info)


def main(argv=None):
    ap = source_parser(__doc__)
    script_main(ap, lambda a: build(a.out, a.src, a.size), argv)


if __name__ == "__main__":
    main()
