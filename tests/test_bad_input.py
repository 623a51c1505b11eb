"""Messy folders of images: each case is either converted (documented in redo_lite/data.py) or
refused with a message that names the file, before any training starts."""

import numpy as np
import pytest
import torch
from PIL import Image

from redo_lite.data import DataError, ImageFolderData

rng = np.random.default_rng(0)


def rgb(h=20, w=20):
    return rng.integers(0, 255, (h, w, 3), dtype=np.uint8)


def folder(tmp_path, files: dict, masks: dict | None = None, split: str | None = None):
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    for name, writer in files.items():
        writer(root / "images" / name)
    if masks:
        (root / "masks").mkdir()
        for name, writer in masks.items():
            writer(root / "masks" / name)
    if split is not None:
        (root / "splits").mkdir()
        (root / "splits" / "train.txt").write_text(split, encoding="utf-8")
    return root


def save(arr, mode=None, **kw):
    return lambda p: (
        Image.fromarray(arr, mode).save(p, **kw) if mode else Image.fromarray(arr).save(p, **kw)
    )


CONVERTED = {
    "grayscale": lambda p: Image.fromarray(rgb()[..., 0], "L").save(p),
    "rgba": lambda p: Image.fromarray(
        np.dstack([rgb(), np.full((20, 20), 128, np.uint8)]), "RGBA"
    ).save(p),
    "palette": lambda p: Image.fromarray(rgb()).convert("P", palette=Image.ADAPTIVE).save(p),
    "16bit": lambda p: Image.fromarray(rng.integers(0, 65535, (20, 20), dtype=np.uint16)).save(p),
    "cmyk": lambda p: Image.fromarray(rgb()).convert("CMYK").save(p.with_suffix(".jpg")),
    "bilevel": lambda p: Image.fromarray(rgb()[..., 0] > 128).save(p),
    "large": lambda p: Image.fromarray(rgb(2400, 3000)).save(p),
    "tiny": lambda p: Image.fromarray(rgb(1, 1)).save(p),
    "nonascii_été_数字": lambda p: Image.fromarray(rgb()).save(p),
}


@pytest.mark.parametrize("kind", sorted(CONVERTED))
def test_documented_conversions(tmp_path, kind):
    root = folder(tmp_path, {f"{kind}.png": CONVERTED[kind]})
    d = ImageFolderData(root, "train", 16, 2)
    assert d.images.shape == (1, 3, 16, 16) and d.images.dtype == torch.uint8
    assert d.stems == [kind]


def test_rgba_is_composited_on_white(tmp_path):
    transparent = np.zeros((8, 8, 4), np.uint8)
    root = folder(tmp_path, {"a.png": save(transparent, "RGBA")})
    assert (ImageFolderData(root, "train", 8, 2).images == 255).all()


def test_16bit_is_scaled_to_8bit(tmp_path):
    root = folder(tmp_path, {"a.png": save(np.full((8, 8), 65535, np.uint16))})
    assert (ImageFolderData(root, "train", 8, 2).images == 255).all()


REFUSED = {
    "zero-byte": (lambda p: p.write_bytes(b""), "cannot read this image"),
    "truncated": (lambda p: p.write_bytes(_png_bytes()[:60]), "cannot read this image"),
    "text named .png": (
        lambda p: p.write_text("hello, I am not an image"),
        "cannot read this image",
    ),
}


def _png_bytes():
    import io

    buf = io.BytesIO()
    Image.fromarray(rgb(64, 64)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_unreadable_images_are_named(tmp_path, kind):
    write, message = REFUSED[kind]
    root = folder(tmp_path, {"good.png": save(rgb()), "bad.png": write})
    with pytest.raises(DataError, match=rf"images/bad.png: {message}"):
        ImageFolderData(root, "train", 16, 2)


def test_mask_problems_are_named(tmp_path):
    label = np.zeros((20, 20), np.uint8)
    cases = {
        "another size": (
            save(np.zeros((10, 20), np.uint8), "L"),
            r"a.png: mask is 20x10 but its image is 20x20",
        ),
        "label >= n": (
            save(np.full((20, 20), 2, np.uint8), "L"),
            r"a.png: label 2 found but regions = 2",
        ),
        "rgb mask": (save(rgb()), r"a.png: a mask must be a single-channel label map"),
        "not an image": (lambda p: p.write_text("nope"), r"masks/a.png: cannot read this image"),
    }
    for i, (writer, message) in enumerate(cases.values()):
        root = folder(tmp_path / str(i), {"a.png": save(rgb())}, {"a.png": writer})
        with pytest.raises(DataError, match=message):
            ImageFolderData(root, "train", 16, 2)
    root = folder(tmp_path / "ok", {"a.png": save(rgb())}, {"a.png": save(label, "L")})
    assert ImageFolderData(root, "train", 16, 2).masks.shape == (1, 16, 16)


def test_split_and_stem_problems_are_named(tmp_path):
    with pytest.raises(DataError, match=r"train.txt: lists 1 stem.*'missing'"):
        ImageFolderData(
            folder(tmp_path / "a", {"x.png": save(rgb())}, split="x\nmissing\n"), "train", 16, 2
        )
    with pytest.raises(DataError, match=r"duplicate stem 'x'"):
        ImageFolderData(
            folder(tmp_path / "b", {"x.png": save(rgb()), "x.jpg": save(rgb())}), "train", 16, 2
        )
    with pytest.raises(DataError, match=r"missing.*for image x.png"):
        ImageFolderData(
            folder(
                tmp_path / "c",
                {"x.png": save(rgb()), "y.png": save(rgb())},
                {"y.png": save(np.zeros((20, 20), np.uint8), "L")},
            ),
            "train",
            16,
            2,
        )
    with pytest.raises(DataError, match=r"nowhere: no such folder"):
        ImageFolderData(tmp_path / "nowhere", "train", 16, 2)
    d = ImageFolderData(
        folder(tmp_path / "d", {"été.png": save(rgb())}, split="été\n"), "train", 16, 2
    )
    assert d.stems == ["été"]  # non-ASCII stems in split files work


def test_a_bad_file_stops_training_before_anything_is_written(tmp_path):
    from conftest import tiny_config

    from redo_lite.train import Trainer

    root = folder(tmp_path, {"a.png": save(rgb()), "b.png": lambda p: p.write_bytes(b"")})
    with pytest.raises(DataError, match="b.png"):
        Trainer(tiny_config(regions=2), root, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()
