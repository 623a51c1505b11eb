import itertools

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from redo_lite.metrics import region_areas, score


def blocks(b=2, s=8):
    gt = torch.zeros(b, s, s, dtype=torch.long)
    gt[:, :4, :4] = 1
    gt[:, 5:, 5:] = 2
    return gt


def test_perfect_prediction_with_permuted_labels_scores_one():
    gt = blocks()
    for perm in itertools.permutations(range(3)):
        pred = torch.tensor(perm)[gt]
        s = score(pred, gt, 3)
        assert (
            s["acc"] == 1.0 and s["iou"] == 1.0 and s["iou_split"] == 1.0 and s["acc_split"] == 1.0
        )


def test_n2_foreground_iou_on_a_constructed_mask():
    gt = torch.zeros(1, 4, 4, dtype=torch.long)
    gt[0, :2] = 1  # 8 foreground pixels
    pred = torch.zeros(1, 4, 4, dtype=torch.long)
    pred[0, :3] = 1  # 12 predicted: intersection 8, union 12
    s = score(1 - pred, gt, 2)  # labels swapped: the best permutation undoes it
    assert abs(s["iou"] - 8 / 12) < 1e-6
    assert abs(s["acc"] - 12 / 16) < 1e-6


def test_per_image_permutation_is_more_lenient_than_one_for_the_split():
    gt = blocks()
    pred = gt.clone()
    pred[1] = torch.tensor([0, 2, 1])[gt[1]]  # second image: the two digits swapped
    s = score(pred, gt, 3)
    assert s["iou"] == 1.0
    assert s["iou_split"] < 1.0


def test_all_background_prediction_scores_zero_object_iou():
    gt = blocks()
    s = score(torch.zeros_like(gt), gt, 3)
    # the best permutation gives the one predicted region to a digit: IoU 16/64 there, 0 elsewhere
    assert s["iou"] == (16 / 64 + 0) / 2
    assert s["acc"] == 39 / 64  # 64 - 16 - 9 background pixels


def test_region_areas_sum_to_one():
    a = region_areas(blocks(), 3)
    torch.testing.assert_close(a.sum(), torch.tensor(1.0))
    assert a[1] == 16 / 64


label_maps = st.integers(2, 4).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.integers(0, n - 1), min_size=36, max_size=36),
        st.lists(st.integers(0, n - 1), min_size=36, max_size=36),
        st.permutations(list(range(n))),
    )
)


@settings(max_examples=60, deadline=None)
@given(label_maps)
def test_metric_invariants(case):
    n, p, g, perm = case
    pred = torch.tensor(p).view(1, 6, 6)
    gt = torch.tensor(g).view(1, 6, 6)
    s = score(pred, gt, n)
    for k in ("acc", "acc_split"):
        assert 0.0 <= s[k] <= 1.0
    if s["iou"] == s["iou"]:  # not NaN (NaN only if no object anywhere)
        assert 0.0 <= s["iou"] <= 1.0
    relabelled = score(
        torch.tensor(perm)[pred], gt, n
    )  # renaming predicted regions changes nothing
    assert abs(relabelled["acc"] - s["acc"]) < 1e-6
    assert relabelled["iou"] == s["iou"] or (
        relabelled["iou"] != relabelled["iou"] and s["iou"] != s["iou"]
    )
    assert score(gt, gt, n)["acc"] == 1.0  # the truth scores perfectly
    assert s["acc"] >= s["acc_split"] - 1e-6  # per image is never stricter


def test_split_accuracy_takes_its_own_best_permutation():
    gt = blocks()
    pred = torch.zeros_like(gt)  # one region everywhere: the IoU permutation gives it to a digit
    s = score(pred, gt, 3)
    assert s["acc_split"] == 39 / 64  # but accuracy gives it to the background


def test_rename_to_truth_undoes_each_images_own_permutation():
    from redo_lite.metrics import rename_to_truth

    gt = blocks(b=6)
    pred = torch.stack(
        [torch.tensor(p)[g] for p, g in zip(itertools.permutations(range(3)), gt, strict=True)]
    )
    pred[0, 0, 0] = 2  # one wrong pixel stays wrong, under its new name
    renamed = rename_to_truth(pred, gt, 3)
    assert torch.equal(renamed[1:], gt[1:])
    assert renamed[0, 0, 0] == 2 and torch.equal(renamed[0].flatten()[1:], gt[0].flatten()[1:])
