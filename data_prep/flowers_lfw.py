r"""Flowers+LFW: the two data sets fused, without labels of which is which (paper §5.1).

Neither official repository has code for it, and the paper does not say how the images were mixed;
this script takes the simplest reading and says so: every split is the union of the two data sets'
same split (stems prefixed ``flowers_`` and ``lfw_``), images copied as prepared. LFW's train images
have no masks, so the fused train split has none either (it is not scored). Validation scores a
subset of the labelled val images that keeps each part's share (``redo_lite.data.labelled_split``;
``info.json`` lists the parts), so a run selects on flowers and faces alike.

    python -m data_prep.flowers_lfw --out data/flowers_lfw [--from PATH] [--flowers DIR] [--lfw DIR]

``--flowers``/``--lfw`` take folders already prepared by ``data_prep.flowers``/``data_prep.lfw``;
without them both are prepared under ``OUT/_parts`` (from ``--from``'s subfolders ``flowers/`` and
``lfw/``, or downloaded).
"""

from __future__ import annotations

from pathlib import Path

from redo_lite.data import read_split_file
from redo_lite.files import atomic_write, read_bytes

from .common import DatasetWriter, script_main, source_parser


def build(
    out: Path,
    flowers: Path | None = None,
    lfw: Path | None = None,
    src: Path | None = None,
    size: int = 128,
) -> dict:
    out = Path(out)
    writer, counts = DatasetWriter(out, "flowers+lfw", {"size": size}), {}
    if flowers is None or lfw is None:
        writer.create()  # the parts are built inside it
    if flowers is None:
        from .flowers import build as build_flowers

        flowers = out / "_parts" / "flowers"
        build_flowers(flowers, src / "flowers" if src else None, size)
    if lfw is None:
        from .lfw import build as build_lfw

        lfw = out / "_parts" / "lfw"
        build_lfw(
            lfw, src / "lfw" if src else None, src / "lfw" / "datasplits" if src else None, size
        )
    parts = {}  # every split file read (and checked) before anything is copied
    for split in ("train", "val", "test"):
        for prefix, part in (("flowers", Path(flowers)), ("lfw", Path(lfw))):
            split_file = part / "splits" / f"{split}.txt"
            if not split_file.exists():
                raise FileNotFoundError(
                    f"{split_file}: not found; is {part} a prepared data folder?"
                )
            parts[split, prefix, part] = read_split_file(split_file)
    writer.create()
    for (split, prefix, part), stems in parts.items():
        counts[split] = counts.get(split, 0) + len(stems)
        for stem in stems:
            new = f"{prefix}_{stem}"
            for sub in ("images", "masks"):
                srcfile = part / sub / f"{stem}.png"
                dst = out / sub / f"{new}.png"
                if srcfile.exists() and not dst.exists():
                    data = read_bytes(srcfile, "image file")
                    atomic_write(dst, lambda f, d=data: f.write(d))
            writer.add(split, new)
    info = {
        "name": "flowers+lfw",
        "regions": 2,
        "size": size,
        "labels": {"0": "background", "1": "object"},
        "parts": ["flowers", "lfw"],  # stems prefixed flowers_ and lfw_ (redo_lite.data.data_parts)
        "splits": "union of the Flowers and LFW splits (our reading; unspecified in the paper)",
        "counts": counts,
    }
    return writer.finish(info)


def main(argv=None):
    ap = source_parser(__doc__)
    ap.add_argument("--flowers", type=Path, help="a folder prepared by data_prep.flowers")
    ap.add_argument("--lfw", type=Path, help="a folder prepared by data_prep.lfw")
    script_main(ap, lambda a: build(a.out, a.flowers, a.lfw, a.src, a.size), argv)


if __name__ == "__main__":
    main()
