"""One preprocessing for training, evaluation and segmentation, and segment's labels at any size."""

import numpy as np
import pytest
import torch
from conftest import tiny_config
from PIL import Image

from redo_lite.data import ImageFolderData, preprocess, preprocess_labels, resize_labels
from redo_lite.nets import build_nets
from redo_lite.run import guided_upsample, owner, segment_image, segment_soft, window_offsets
from redo_lite.train import predict


@pytest.fixture(scope="module")
def F():
    torch.manual_seed(0)
    return build_nets(tiny_config())["F"].eval()  # 16 px, 3 regions


def folder(root, images):
    """A data folder (no splits) holding the given uint8 H,W,3 arrays as a.png, b.png, ..."""
    (root / "images").mkdir(parents=True)
    for stem, img in zip("abcdefgh", images, strict=False):
        Image.fromarray(img).save(root / "images" / f"{stem}.png")
    return root


def noise(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_preprocess_averages_areas_and_keeps_an_image_at_size_as_it_is():
    img = noise(16, 16)
    assert np.array_equal(np.asarray(preprocess(Image.fromarray(img), 16)), img)
    flat = np.kron(np.arange(16, dtype=np.uint8).reshape(4, 4) * 10, np.ones((4, 4), np.uint8))
    small = np.asarray(preprocess(Image.fromarray(flat), 8))  # 2x2 blocks of equal values
    assert np.array_equal(small, np.kron(flat[::4, ::4], np.ones((2, 2), np.uint8)))
    stroke = np.zeros((32, 32), np.uint8)
    stroke[:, 13] = 255  # a 1-pixel line, between nearest neighbour's samples
    assert np.asarray(preprocess(Image.fromarray(stroke), 8)).max() == 64  # still there, blended
    assert np.asarray(preprocess(Image.fromarray(stroke), 8, Image.NEAREST)).max() == 0  # gone
    wide = preprocess(Image.fromarray(noise(20, 40)), 10)  # shorter side, then the centre square
    assert wide.size == (10, 10)


def test_label_maps_take_the_label_covering_most_of_each_pixel():
    labels = np.zeros((4, 4), np.uint8)
    labels[0, :3] = 2
    labels[1, 0] = 2  # 3 of the top-left 2x2 block's 4 pixels, 1 of the top-right one's
    out = resize_labels(labels, 2, 2)
    assert out.tolist() == [[2, 0], [0, 0]]
    assert preprocess_labels(np.ones((6, 12), np.uint8), 3).shape == (3, 3)


def test_segment_gives_evaluate_labels_at_the_model_size(F, tmp_path):
    imgs = [noise(16, 16, s) for s in range(3)]
    data = ImageFolderData(folder(tmp_path / "d", imgs), None, 16, 3)
    expected = predict(F, data.batch(torch.arange(3))[0])
    for img, want in zip(imgs, expected, strict=True):
        assert np.array_equal(segment_image(F, Image.fromarray(img), 16), want.numpy())


def test_a_larger_square_image_is_labelled_as_evaluate_labels_it(F, tmp_path):
    imgs = [noise(48, 48, s) for s in range(2)]
    data = ImageFolderData(folder(tmp_path / "d", imgs), None, 16, 3)
    expected = predict(F, data.batch(torch.arange(2))[0])
    for img, want in zip(imgs, expected, strict=True):
        soft = segment_soft(F, Image.fromarray(img), 16)
        assert torch.equal(soft.argmax(0), want)
        labels = segment_image(F, Image.fromarray(img), 16)
        assert labels.shape == (48, 48) and labels.max() < 3


@pytest.mark.parametrize("h, w", [(16, 40), (37, 16), (24, 70)])
def test_a_non_square_image_gets_a_label_everywhere_and_its_centre_crop_evaluate_labels(
    F, tmp_path, h, w
):
    img = noise(h, w)
    data = ImageFolderData(folder(tmp_path / "d", [img]), None, 16, 3)
    want = predict(F, data.batch(torch.arange(1))[0])[0]
    soft = segment_soft(F, Image.fromarray(img), 16)
    sh, sw = soft.shape[-2:]
    assert min(sh, sw) == 16 and torch.allclose(soft.sum(0), torch.ones(sh, sw), atol=1e-5)
    top, left = (sh - 16) // 2, (sw - 16) // 2
    assert torch.equal(soft[:, top : top + 16, left : left + 16].argmax(0), want)
    assert segment_image(F, Image.fromarray(img), 16).shape == (h, w)


def test_windows_cover_the_long_side_and_the_centre_one_owns_the_centre_crop():
    for length in (16, 17, 40, 100, 333):
        offsets = window_offsets(length, 16)
        c = (length - 16) // 2
        owners = [owner(p, length, 16) for p in range(length)]
        assert set(owners) == set(offsets) and c in offsets
        assert all(o <= p < o + 16 for p, o in enumerate(owners))
        assert all(owners[p] == c for p in range(c, c + 16))


def test_guided_upsampling_puts_a_thin_stroke_where_the_big_image_has_it():
    big = np.full((32, 32, 3), 0.5, np.float32)
    big[:, 13:15] = 0.1  # a stroke 2 px wide, off the 4x grid
    truth = np.zeros((32, 32), np.int64)
    truth[:, 13:15] = 1
    small = np.asarray(Image.fromarray(big[..., 0], "F").resize((8, 8), Image.BOX))
    soft = torch.from_numpy(
        np.stack([small > 0.4, small <= 0.4])
    ).float()  # a perfect 8 px labeller

    def chw(a):  # H,W or H,W,3 -> 3,H,W
        return torch.from_numpy(np.repeat(a[None], 3, 0) if a.ndim == 2 else a.transpose(2, 0, 1))

    guided = guided_upsample(soft, chw(small), chw(big)).argmax(0).numpy()
    assert np.array_equal(guided, truth)
    bilinear = torch.nn.functional.interpolate(soft[None], (32, 32), mode="bilinear")[0]
    assert (bilinear.argmax(0).numpy() != truth).sum() > 0  # the grid's edges, not the stroke's
