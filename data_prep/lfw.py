r"""Labeled Faces in the Wild (funneled) with the part labels, as the official ReDO code
prepares it.

* files: ``lfw_funneled/<person>/<image>.jpg`` (``lfw-funneled.tgz``) and
  ``parts_lfw_funneled_gt_images/<image>.ppm`` (``parts_lfw_funneled_gt_images.tgz``);
* splits: ReDO's own files ``datasplits/lfw-funneled/{train,val,test}.txt`` from the official
  repository, one ``person image_name`` a line: train = the 10k+ images *without* part labels (so no
  masks), val 1327 and test 1600 labelled images with no identity overlap;
* mask: foreground = 1 - the blue (background) channel of the part-label image, so hair, face and
  anything that is not background (label 1);
* 250x250 images, shorter side to 128 with nearest neighbour (the centre crop does nothing).

    python -m data_prep.lfw --out data/lfw [--from PATH] [--splits DIR] [--size 128]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from redo_lite.files import read_text

from .common import DatasetWriter, fetch_sources, same_size, script_main, source_parser, square
from .download import DownloadError, download

URL = "http://vis-www.cs.umass.edu/lfw/"
FILES = [
    ("lfw-funneled.tgz", URL + "lfw-funneled.tgz", "1b42dfed7d15c9b2dd63d5e5840c86ad"),
    (
        "parts_lfw_funneled_gt_images.tgz",
        URL + "part_labels/parts_lfw_funneled_gt_images.tgz",
        "3e7e26e801c3081d651c8c2ef3c45cfc",
    ),
]
READY = ["lfw_funneled", "parts_lfw_funneled_gt_images"]
SPLITS_URL = "https://raw.githubusercontent.com/mickaelChen/ReDO/master/datasplits/lfw-funneled/"


def face_mask(ppm) -> np.ndarray:
    """Foreground = 1 - blue channel (the background class of the part labels), thresholded at
    half."""
    return (np.asarray(ppm.convert("RGB"))[..., 2] < 128).astype(np.uint8)


def read_split(path: Path) -> list[tuple[str, str]]:
    rows, first = [], {}
    for n, line in enumerate(read_text(path, "split file").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise ValueError(f"{path}:{n}: expected 'person image_name', got {line!r}")
        person, name = parts
        name = name[:-4] if name.endswith(".jpg") else name
        if name in first:
            raise ValueError(f"{path}:{n}: {name!r} is listed twice (also on line {first[name]})")
        first[name] = n
        rows.append((person, name))
    return rows


def build(out: Path, src: Path | None = None, splits: Path | None = None, size: int = 128) -> dict:
    from redo_lite.data import open_image

    out = Path(out)
    writer, counts = DatasetWriter(out, "lfw", {"size": size}), {}
    root = fetch_sources(src, out / "_work", FILES, READY, writer.create)
    if splits is None:
        writer.create()
        splits = out / "_work" / "datasplits"
        for s in ("train", "val", "test"):
            try:
                download(SPLITS_URL + f"{s}.txt", splits / f"{s}.txt")
            except DownloadError as e:
                raise DownloadError(
                    f"{e}; pass --splits DIR, a folder with ReDO's train.txt, val.txt and test.txt "
                    "(datasplits/lfw-funneled in the official repository)"
                ) from None
    elif not Path(splits).is_dir():
        raise FileNotFoundError(f"{splits}: no such folder (--splits)")
    for split in ("train", "val", "test"):
        rows = read_split(Path(splits) / f"{split}.txt")
        counts[split] = len(rows)
        print(f"{split}: {len(rows)} images")
        for person, name in rows:
            stem = name
            ppm = root / "parts_lfw_funneled_gt_images" / f"{name}.ppm"
            labelled = split != "train"
            if writer.exists(stem, with_mask=labelled):
                writer.add(split, stem)
                continue
            img_path = root / "lfw_funneled" / person / f"{name}.jpg"
            img, mask = open_image(img_path), None
            if labelled:
                label = open_image(ppm)
                same_size(img, img_path, label, ppm)
                mask = face_mask(label)
            writer.add(split, stem, *square(img, size, mask, img_path))
    info = {
        "name": "lfw",
        "regions": 2,
        "size": size,
        "labels": {"0": "background", "1": "face and hair"},
        "splits": "ReDO datasplits/lfw-funneled (train has no masks)",
        "counts": counts,
    }
    return writer.finish(info)


def main(argv=None):
    ap = source_parser(__doc__)
    ap.add_argument(
        "--splits", type=Path, help="folder with ReDO's train/val/test.txt (else downloaded)"
    )
    script_main(ap, lambda a: build(a.out, a.src, a.splits, a.size), argv)


if __name__ == "__main__":
    main()
