"""Flowers, LFW, CUB and Flowers+LFW preparation, on small fixtures built here in the exact upstream
layouts (these data sets cannot be downloaded on the CI machine)."""

import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_prep import cub, flowers, flowers_lfw, lfw
from data_prep.fixtures import disc as blob
from redo_lite.data import ImageFolderData

ROOT = Path(__file__).resolve().parents[1]
rng = np.random.default_rng(0)


def make_flowers(src: Path, n=6, h=60, w=80):
    """The fixture with a fixed disc in the middle and the splits trnid 1-2, valid 3, tstid 4-6."""
    from scipy.io import savemat

    (src / "jpg").mkdir(parents=True)
    (src / "segmim").mkdir()
    for i in range(1, n + 1):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(
            src / "jpg" / f"image_{i:05d}.jpg"
        )
        seg = np.zeros((h, w, 3), np.uint8)
        seg[:] = (0, 0, 254)  # the blue background of segmim
        seg[blob(h, w, h // 2, w // 2, 18)] = (200, 150, 100)
        Image.fromarray(seg).save(src / "segmim" / f"segmim_{i:05d}.jpg", quality=100)
    savemat(
        src / "setid.mat",
        {"trnid": np.array([1, 2]), "valid": np.array([3]), "tstid": np.array([4, 5, 6])},
    )
    return src


def test_the_random_flowers_fixture_prepares(tmp_path):
    from data_prep.fixtures import make_flowers as random_flowers

    info = flowers.build(tmp_path / "out", random_flowers(tmp_path / "src", n=12), size=16)
    assert info["counts"] == {"train": 8, "val": 2, "test": 2}
    m = ImageFolderData(tmp_path / "out", "train", 16, 2, need_masks=True).masks.float().mean()
    assert 0.05 < m < 0.6


def test_flower_mask_follows_the_official_colour_rule():
    a = np.array(
        [[[0, 0, 254], [0, 10, 10], [10, 0, 10], [10, 10, 254], [10, 10, 253], [200, 150, 100]]],
        np.uint8,
    )
    assert flowers.flower_mask(Image.fromarray(a)).tolist() == [[0, 0, 0, 0, 1, 1]]


def test_flowers_from_extracted_files_uses_the_official_swapped_splits(tmp_path):
    src = make_flowers(tmp_path / "src")
    info = flowers.build(tmp_path / "out", src, size=32)
    assert info["counts"] == {"train": 3, "val": 1, "test": 2}

    def split(s):
        return (tmp_path / "out" / "splits" / f"{s}.txt").read_text().split()

    assert split("train") == ["image_00004", "image_00005", "image_00006"]  # tstid
    assert split("test") == ["image_00001", "image_00002"]  # trnid
    d = ImageFolderData(tmp_path / "out", "test", 32, 2, need_masks=True)
    assert d.images.shape == (2, 3, 32, 32)
    # the mask is derived at full resolution from the decoded JPEG (ringing included, as the
    # official code), then resized with nearest neighbour and centre-cropped:
    # 60x80 -> 32x43 -> columns 5..36
    full = flowers.flower_mask(Image.open(src / "segmim" / "segmim_00001.jpg"))
    expected = np.asarray(Image.fromarray(full).resize((43, 32), Image.NEAREST))[:, 5:37]
    assert np.array_equal(d.masks[0].numpy(), expected)
    disc = np.asarray(
        Image.fromarray(blob(60, 80, 30, 40, 18).astype(np.uint8)).resize((43, 32), Image.NEAREST)
    )[:, 5:37]
    assert (expected[disc == 1] == 1).all()  # the flower itself is all foreground


def test_flowers_from_archives_via_the_command_line_and_idempotent(tmp_path):
    src = make_flowers(tmp_path / "raw")
    dl = tmp_path / "downloads"
    dl.mkdir()
    for name, folder in (("102flowers.tgz", "jpg"), ("102segmentations.tgz", "segmim")):
        with tarfile.open(dl / name, "w:gz") as t:
            t.add(src / folder, arcname=folder)
    (dl / "setid.mat").write_bytes((src / "setid.mat").read_bytes())
    cmd = [
        sys.executable,
        "-m",
        "data_prep.flowers",
        "--from",
        str(dl),
        "--out",
        str(tmp_path / "out"),
        "--size",
        "16",
    ]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "extracting 102flowers.tgz" in r.stdout
    first = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "images").iterdir()}
    (tmp_path / "out" / "images" / "image_00002.png").unlink()  # an interrupted build
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    again = {p: p.stat().st_mtime_ns for p in (tmp_path / "out" / "images").iterdir()}
    assert again.keys() == first.keys()
    assert all(again[p] == first[p] for p in first if p.name != "image_00002.png")  # nothing redone


def test_flowers_bad_sources_are_named(tmp_path):
    src = make_flowers(tmp_path / "a")
    (src / "jpg" / "image_00005.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(Exception, match=r"image_00005.jpg: cannot read"):
        flowers.build(tmp_path / "out_a", src, size=16)
    src = make_flowers(tmp_path / "b")
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(src / "segmim" / "segmim_00004.jpg")
    with pytest.raises(ValueError, match=r"segmim_00004.jpg: size"):
        flowers.build(tmp_path / "out_b", src, size=16)
    src = make_flowers(tmp_path / "c")
    (src / "setid.mat").write_text("not a mat file")
    with pytest.raises(ValueError, match=r"setid.mat: not a Flowers setid.mat"):
        flowers.build(tmp_path / "out_c", src, size=16)
    with pytest.raises(FileNotFoundError, match=r"empty_source_folder: no such folder \(--from\)"):
        flowers.build(tmp_path / "out_d", tmp_path / "empty_source_folder", size=16)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"empty/jpg: not found.*102flowers.tgz"):
        flowers.build(tmp_path / "out_e", tmp_path / "empty", size=16)


def make_lfw(src: Path):
    people = {"Ann_A": 2, "Bob_B": 2, "Cy_C": 1}
    for person, k in people.items():
        (src / "lfw_funneled" / person).mkdir(parents=True)
        for j in range(1, k + 1):
            Image.fromarray(rng.integers(0, 255, (250, 250, 3), dtype=np.uint8)).save(
                src / "lfw_funneled" / person / f"{person}_{j:04d}.jpg"
            )
    (src / "parts_lfw_funneled_gt_images").mkdir()
    for name in ("Bob_B_0001", "Bob_B_0002", "Cy_C_0001"):
        ppm = np.zeros((250, 250, 3), np.uint8)
        ppm[..., 2] = 255  # blue = background
        face = blob(250, 250, 125, 125, 70)
        ppm[face] = (0, 255, 0)
        Image.fromarray(ppm).save(src / "parts_lfw_funneled_gt_images" / f"{name}.ppm")
    sp = src / "datasplits"
    sp.mkdir()
    (sp / "train.txt").write_text("Ann_A Ann_A_0001\nAnn_A Ann_A_0002\n")
    (sp / "val.txt").write_text("Bob_B Bob_B_0001\nBob_B Bob_B_0002\n")
    (sp / "test.txt").write_text("Cy_C Cy_C_0001\n")
    return src


def test_lfw_train_has_no_masks_and_the_labelled_splits_do(tmp_path):
    src = make_lfw(tmp_path / "src")
    lfw.build(tmp_path / "out", src, src / "datasplits", size=32)
    assert ImageFolderData(tmp_path / "out", "train", 32, 2).masks is None
    test = ImageFolderData(tmp_path / "out", "test", 32, 2, need_masks=True)
    assert 0.2 < test.masks.float().mean() < 0.4  # the face disc, ~25% of the image
    with pytest.raises(ValueError, match=r"test.txt:1: expected 'person image_name'"):
        (src / "datasplits" / "test.txt").write_text("just_one_field\n")
        lfw.build(tmp_path / "out2", src, src / "datasplits", size=32)


def make_cub(src: Path):
    base = src / "CUB_200_2011"
    (base / "images" / "001.Bird").mkdir(parents=True)
    (src / "segmentations" / "001.Bird").mkdir(parents=True)
    lines = []
    for i in range(1, 4):
        rel = f"001.Bird/Bird_{i:04d}.jpg"
        lines.append(f"{i} {rel}")
        Image.fromarray(rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)).save(
            base / "images" / rel
        )
        seg = (blob(50, 70, 25, 35, 15) * 230).astype(np.uint8)
        seg[0, 0] = 100  # soft value below 0.5: background
        Image.fromarray(seg, "L").save(src / "segmentations" / "001.Bird" / f"Bird_{i:04d}.png")
    (base / "images.txt").write_text("\n".join(lines) + "\n")
    (src / "split.txt").write_text("1 0\n2 1\n3 2\n")
    return src


def test_cub_uses_redos_split_and_thresholds_the_soft_masks(tmp_path):
    src = make_cub(tmp_path / "src")
    info = cub.build(tmp_path / "out", src, src / "split.txt", size=32)
    assert info["counts"] == {"train": 1, "val": 1, "test": 1}
    d = ImageFolderData(tmp_path / "out", "val", 32, 2, need_masks=True)
    assert set(d.masks.unique().tolist()) == {0, 1}
    (src / "split.txt").write_text("1 0\n99 1\n")
    with pytest.raises(ValueError, match=r"split.txt:2: unknown image id"):
        cub.build(tmp_path / "out2", src, src / "split.txt", size=32)


def test_flowers_lfw_is_the_union_of_both(tmp_path):
    f = tmp_path / "f"
    flowers.build(f, make_flowers(tmp_path / "fs"), size=16)
    l_src = make_lfw(tmp_path / "ls")
    lfw_out = tmp_path / "l"
    lfw.build(lfw_out, l_src, l_src / "datasplits", size=16)
    info = flowers_lfw.build(tmp_path / "out", f, lfw_out, size=16)
    assert info["counts"] == {"train": 5, "val": 3, "test": 3}
    test = ImageFolderData(tmp_path / "out", "test", 16, 2, need_masks=True)
    assert sorted(test.stems) == ["flowers_image_00001", "flowers_image_00002", "lfw_Cy_C_0001"]


def test_flowers_lfw_validates_on_both_halves(tmp_path, capsys):
    """eval_images caps the labelled val images with each half's share kept (the fused split lists
    Flowers first: the first N would be Flowers alone), the same subset for every run; the run
    says what its validation holds and records it."""
    import json

    from conftest import tiny_config

    from data_prep.fixtures import make_flowers as random_flowers
    from redo_lite.data import labelled_split
    from redo_lite.train import Trainer

    f = tmp_path / "f"
    flowers.build(f, random_flowers(tmp_path / "fs", n=24), size=16)  # val: 4 flowers
    l_src = make_lfw(tmp_path / "ls")
    lfw.build(tmp_path / "l", l_src, l_src / "datasplits", size=16)  # val: 2 faces
    out = tmp_path / "out"
    flowers_lfw.build(out, f, tmp_path / "l", size=16)
    order = (out / "splits" / "val.txt").read_text().split()
    assert [s.split("_")[0] for s in order] == ["flowers"] * 4 + ["lfw"] * 2
    cfg = tiny_config(regions=2)
    val = labelled_split(out, "val", cfg, limit=3)
    assert val.holds == {"flowers": 2, "lfw": 1}
    assert val.stems == [s for s in order if s in val.stems]  # split order kept
    assert labelled_split(out, "val", cfg, limit=3).stems == val.stems  # seeded: the same
    assert labelled_split(out, "val", cfg).holds == {"flowers": 4, "lfw": 2}
    t = Trainer(tiny_config(regions=2, eval_images=3), out, tmp_path / "run", progress=False)
    t.close()
    assert t.val_data.stems == val.stems
    assert "validation: 3 labelled images" in capsys.readouterr().err
    record = json.loads((tmp_path / "run" / "redo_run.json").read_text())
    assert record["inputs"]["fingerprint"]["val"]["holds"] == {"flowers": 2, "lfw": 1}


# Every odd or broken image kind of tests/test_bad_input.py, planted in each script's upstream
# layout: the documented conversions go through, the broken files stop the script with the file
# named.
from test_bad_input import REFUSED  # noqa: E402


def plant(script, src, writer):
    """Replace one image of a fixture with ``writer``'s file; return its path."""
    if script == "flowers":
        path = src / "jpg" / "image_00004.jpg"
    elif script == "lfw":
        path = src / "lfw_funneled" / "Bob_B" / "Bob_B_0001.jpg"
    else:
        path = src / "CUB_200_2011" / "images" / "001.Bird" / "Bird_0002.jpg"
    tmp = path.with_name("planted.png")
    writer(tmp)
    planted = tmp if tmp.exists() else tmp.with_suffix(".jpg")
    planted.replace(path)  # the upstream name, whatever the content
    return path


def run_script(script, src, out):
    if script == "flowers":
        return flowers.build(out, src, size=16)
    if script == "lfw":
        return lfw.build(out, src, src / "datasplits", size=16)
    return cub.build(out, src, src / "split.txt", size=16)


MAKERS = {"flowers": make_flowers, "lfw": make_lfw, "cub": make_cub}


def reencode(mode):
    """A writer that re-saves the fixture's own image (same size) in another mode."""

    def write(path):
        img = Image.open(path.with_name(TARGET[path.parent.name])).convert("RGB")
        if mode == "I;16":
            Image.fromarray(np.asarray(img.convert("L"), np.uint16) * 257).save(path)
        elif mode == "CMYK":
            img.convert("CMYK").save(path.with_suffix(".jpg"))
        elif mode == "P":
            img.convert("P", palette=Image.ADAPTIVE).save(path)
        else:
            img.convert(mode).save(path)

    return write


TARGET = {"jpg": "image_00004.jpg", "Bob_B": "Bob_B_0001.jpg", "001.Bird": "Bird_0002.jpg"}


@pytest.mark.parametrize("script", sorted(MAKERS))
@pytest.mark.parametrize("mode", ["L", "1", "P", "RGBA", "I;16", "CMYK"])
def test_scripts_convert_odd_image_modes(tmp_path, script, mode):
    src = MAKERS[script](tmp_path / "src")
    plant(script, src, reencode(mode))
    run_script(script, src, tmp_path / "out")
    assert len(list((tmp_path / "out" / "images").iterdir())) >= 3


@pytest.mark.parametrize("script", sorted(MAKERS))
@pytest.mark.parametrize("kind", sorted(REFUSED) + ["another size"])
def test_scripts_refuse_broken_images(tmp_path, script, kind):
    src = MAKERS[script](tmp_path / "src")
    writer = (
        (lambda p: Image.fromarray(rng.integers(0, 255, (7, 9, 3), dtype=np.uint8)).save(p))
        if kind == "another size"
        else REFUSED[kind][0]
    )
    path = plant(script, src, writer)
    with pytest.raises(Exception, match=path.name if kind != "another size" else r"size|differs"):
        run_script(script, src, tmp_path / "out")
