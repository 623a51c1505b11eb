"""Writing the common on-disk format (images/, masks/, splits/), atomically and idempotently.

A data folder records how it was built (``OUT/build.json``: the script's name and the settings
that decide what is in its files, such as ``--size`` and ``--seed``) before it writes anything.
Running a script again into the same folder with the same settings finishes or repeats the build
(files already there are kept); with other settings, or into a folder that another data set or
anything else already uses, it is refused, naming the folder and both settings.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from redo_lite.cli import Parser, whole
from redo_lite.files import (
    WriteError,
    atomic_write,
    atomic_write_text,
    make_folder,
    read_bytes,
    read_text,
    run_cli,
)

RECORD = "build.json"


def _atomic_save(img: Image.Image, path: Path) -> None:
    atomic_write(path, lambda f: img.save(f, format="PNG"))


def _describe(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in sorted(params.items()))


def claim_out(out: Path, name: str, params: dict, write: bool = True) -> Path:
    """Make sure ``out`` is this build's folder before anything is written in it (see the module
    docstring); with ``write``, create it and record the build in ``OUT/build.json``."""
    out = Path(out)
    if (out.exists() or out.is_symlink()) and not out.is_dir():
        raise WriteError(f"{out}: exists and is not a folder; choose another --out")
    entries = sorted(os.listdir(out)) if out.is_dir() else []
    record = {"made_by": "data_prep", "name": name, **params}
    if entries:
        was = None
        for source in (RECORD, "info.json"):  # info.json: a folder built before build.json
            path = out / source
            if path.exists() or path.is_symlink():
                try:
                    was = json.loads(read_text(path, source, ValueError))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{path}: not valid JSON ({e.msg}, line {e.lineno})") from None
                if not isinstance(was, dict):
                    raise ValueError(f"{path}: not a data_prep record")
                break
        if was is None:
            raise WriteError(
                f"{out}: not a folder built by data_prep (it holds {len(entries)} item(s), e.g. "
                f"{entries[0]!r}, and no {RECORD} or info.json); choose a new or empty --out"
            )
        if was.get("name") != name:
            raise WriteError(
                f"{path}: {out} holds the data set {was.get('name')!r}, not {name!r}; choose "
                "another --out"
            )
        differ = {k: v for k, v in params.items() if was.get(k, "(not recorded)") != v}
        if differ:
            then = {k: was.get(k, "(not recorded)") for k in differ}
            raise WriteError(
                f"{path}: {out} was built with {_describe(then)}, not {_describe(differ)}; its "
                "files would not match: choose another --out (or delete the folder to rebuild)"
            )
    if not write:
        return out
    make_folder(out, "--out folder")
    if not (out / RECORD).exists():
        atomic_write_text(out / RECORD, json.dumps(record, indent=2) + "\n")
    return out


class DatasetWriter:
    """Writes one sample at a time; a sample whose files already exist is skipped, so an
    interrupted build resumes where it stopped. ``name`` and ``params``: see ``claim_out``."""

    def __init__(self, out: Path, name: str, params: dict):
        self.out = claim_out(out, name, params, write=False)  # checked now, written on first use
        self.name, self.params, self.created = name, params, False
        self.splits: dict[str, list[str]] = {}

    def create(self) -> None:
        """Claim the folder (``build.json``) and make its subfolders: called before the first
        write of anything (downloads and extraction included), once."""
        if not self.created:
            claim_out(self.out, self.name, self.params)
            for sub in ("images", "masks", "splits"):
                make_folder(self.out / sub)
            self.created = True

    def exists(self, stem: str, with_mask: bool = True) -> bool:
        return (self.out / "images" / f"{stem}.png").exists() and (
            not with_mask or (self.out / "masks" / f"{stem}.png").exists()
        )

    def add(
        self, split: str, stem: str, image: np.ndarray | None = None, mask: np.ndarray | None = None
    ):
        """image: H,W,3 uint8; mask: H,W uint8 label map. None = already on disk."""
        self.create()
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
        """Write the split files and info.json (last, so a finished folder is a complete one).
        A stem in two splits, or twice in one, is refused first: it would be scored twice, or
        tested on what was trained on."""
        first: dict[str, str] = {}
        for split, stems in self.splits.items():
            for stem in stems:
                if stem in first:
                    where = "twice" if first[stem] == split else f"in {first[stem]} and {split}"
                    raise ValueError(
                        f"{self.out}: the sources list {stem!r} {where}; a stem belongs to "
                        "one split, once"
                    )
                first[stem] = split
        self.create()
        for split, stems in self.splits.items():
            text = "".join(stem + "\n" for stem in stems)
            atomic_write_text(self.out / "splits" / f"{split}.txt", text)
        info = {**info, **self.params}
        atomic_write_text(self.out / "info.json", json.dumps(info, indent=2) + "\n")
        print(f"wrote {self.out}: " + ", ".join(f"{k} {len(v)}" for k, v in self.splits.items()))
        return info


def source_parser(doc: str, size: int = 128) -> Parser:
    """The options every data set script shares: --out, --from (no download), --size."""
    ap = Parser(description=doc.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument(
        "--from",
        dest="src",
        type=Path,
        help="a folder with the extracted data or the downloaded files (nothing is downloaded)",
    )
    ap.add_argument("--size", type=whole(8, 2048), default=size, help="8 to 2048 px")
    ap.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    return ap


def arg_parser(doc: str, train: int, val: int, test: int) -> Parser:
    """The options every synthetic builder shares: --out --size --seed --train --val --test."""
    ap = Parser(description=doc.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--size", type=whole(8, 2048), default=32, help="8 to 2048 px")
    ap.add_argument("--seed", type=whole(0, 2**32 - 1), default=0)
    ap.add_argument("--train", type=whole(1, 10**7), default=train)
    ap.add_argument("--val", type=whole(0, 10**7), default=val)
    ap.add_argument("--test", type=whole(0, 10**7), default=test)
    ap.add_argument("--debug", action="store_true", help="show the traceback of a failure")
    return ap


def script_main(ap: Parser, build, argv=None):
    """Parse the arguments, then ``build(args)``; any failure ends in one line on stderr,
    ``error: <file>: <what is wrong>``, and exit status 2 (the traceback only with --debug)."""
    args = sys.argv[1:] if argv is None else list(argv)
    a = ap.parse_args(args)
    run_cli(
        lambda: build(a),
        args,
        interrupted="interrupted; run the same command again to finish (files written are kept)",
    )


def fetch_sources(
    src: Path | None,
    work: Path,
    files: list[tuple[str, str, str | None]],
    ready: list[str],
    prepare=None,
) -> Path:
    """Where the upstream files are, extracted. ``files``: (file name, url, md5) of each archive or
    file; ``ready``: paths that exist once everything is extracted.

    * ``src`` a folder that already holds ``ready``: used as it is (nothing is copied);
    * ``src`` a folder holding the downloaded files (archives): extracted safely into
      ``work/raw``;
    * ``src`` None: everything is downloaded into ``work/downloads`` (checksums verified), then
      extracted.

    A ``src`` with neither is refused, naming what is missing for each of the two ways.
    ``prepare()`` is called before anything is downloaded or extracted (it claims the output).
    """
    from .download import DownloadError, download, safe_extract

    if src is not None:
        src = Path(src)
        if not src.is_dir():
            what = "no such folder" if not src.exists() else "not a folder"
            raise FileNotFoundError(f"{src}: {what} (--from)")
        missing = [r for r in ready if not (src / r).exists()]
        if not missing:
            print(f"using the extracted files in {src}")
            return src
        lacking = [name for name, _, _ in files if not (src / name).is_file()]
        if lacking:
            have = [r for r in ready if (src / r).exists()]
            there = f"; {', '.join(have)} there" if have else ""
            raise FileNotFoundError(
                f"{src / missing[0]}: not found; --from must hold the extracted data "
                f"({', '.join(ready)}: {', '.join(missing)} missing{there}) or the downloaded "
                f"files ({', '.join(f[0] for f in files)}: {', '.join(lacking)} missing)"
            )
    raw = work / "raw"
    if prepare:
        prepare()
    for name, url, md5 in files:
        if src is not None:
            path = src / name
        else:
            try:
                path = download(url, work / "downloads" / name, md5=md5)
            except DownloadError as e:
                raise DownloadError(
                    f"{e}; download the files elsewhere and pass --from DIR (a folder with "
                    f"{', '.join(f[0] for f in files)})"
                ) from None
        if name.endswith((".tgz", ".tar.gz", ".tar", ".zip")):
            print(f"extracting {path.name}")
            safe_extract(path, raw)
        else:
            make_folder(raw)
            data = read_bytes(path, "downloaded file")
            atomic_write(raw / name, lambda f, d=data: f.write(d))
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


def square(img, size: int, mask=None, path: Path | None = None):
    """The official code's preprocessing, which defines these data sets: shorter side to ``size``
    with nearest neighbour, centre crop, for the image and (same geometry) its label map. Returns
    uint8 arrays. (Training, evaluation and segmentation then read them with ``redo_lite.data.
    preprocess``, which leaves an image already at the model's size as it is.)"""
    from PIL import Image

    from redo_lite.data import preprocess, to_rgb

    try:
        rgb = to_rgb(img)
    except (ValueError, OSError) as e:
        raise ValueError(
            f"{path or 'an image'}: cannot convert mode {img.mode} to RGB ({e})"
        ) from None
    out = np.asarray(preprocess(rgb, size, Image.NEAREST))
    if mask is None:
        return out, None
    label_map = Image.fromarray(mask.astype(np.uint8), "L")
    return out, np.asarray(preprocess(label_map, size, Image.NEAREST))
