"""Self-training (redo_lite/beyond/selftrain.py): F trained on its own colour-filtered masks, as the
Trainer's last phase and as ``python -m redo_lite self-train``."""

import json
import time

import pytest
import torch
from conftest import tiny_config

from redo_lite import checkpoint as ckpt
from redo_lite.nets import MaskNet
from redo_lite.run import evaluate_run
from redo_lite.beyond.selftrain import colour_filter, refined_labels, self_train
from redo_lite.train import Trainer


class FixedMasks(torch.nn.Module):
    """An "F" that returns the same soft masks for every image (one parameter, so it has a
    device)."""

    def __init__(self, masks):
        super().__init__()
        self.masks = masks
        self.p = torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.masks.expand(len(x), -1, -1, -1) + 0 * self.p


def two_colour_image(size=16, edge=8):
    """Left of column ``edge`` red, right of it blue; in [-1, 1]."""
    img = torch.zeros(3, size, size)
    img[0, :, :edge] = 1.0
    img[2, :, edge:] = 1.0
    return img * 2 - 1


def test_the_filter_moves_a_misplaced_edge_onto_the_colour_edge():
    # F puts the edge one column left of where the colours change (a halo), unsure of region 1
    size, edge = 16, 8
    soft = torch.zeros(1, 2, size, size)
    soft[0, 1, :, 7:] = 0.6
    soft[0, 0] = 1 - soft[0, 1]
    labels, raw = refined_labels(
        FixedMasks(soft), two_colour_image(size, edge)[None], with_raw=True
    )
    assert (raw[0, :, 7] == 1).all()  # F's own labels: the last red column taken as region 1
    expected = torch.zeros(size, size, dtype=torch.uint8)
    expected[:, edge:] = 1
    assert torch.equal(labels[0], expected)  # after the filter: exactly the colour edge


def test_one_pass_of_the_batched_filter_is_guided_upsample_at_the_images_size():
    from redo_lite.run import guided_upsample

    torch.manual_seed(0)
    soft = torch.softmax(torch.randn(5, 3, 12, 12), 1)
    rgb = torch.rand(5, 3, 12, 12)
    by_image = torch.stack([guided_upsample(m, c, c) for m, c in zip(soft, rgb, strict=True)])
    torch.testing.assert_close(colour_filter(soft, rgb), by_image)


def test_more_passes_carry_a_misplaced_guess_onto_the_colour_edges():
    # a red square (rows and columns 4-11) on blue; F's guess: the square one pixel down and
    # right, and short of a pixel at its far corner
    size = 16
    img = torch.zeros(3, size, size)
    img[2] = 1.0
    img[:, 4:12, 4:12] = torch.tensor([1.0, 0.0, 0.0])[:, None, None]
    soft = torch.full((1, 2, size, size), 0.1)
    soft[0, 1, 5:13, 5:13] = 0.9
    soft[0, 1, 12, 12] = 0.1
    soft[0, 0] = 1 - soft[0, 1]
    truth = torch.zeros(size, size, dtype=torch.long)
    truth[4:12, 4:12] = 1
    errors = [
        (colour_filter(soft, img[None], passes).argmax(1)[0] != truth).sum().item()
        for passes in (1, 4, 16)
    ]
    assert errors[0] > errors[1] > errors[2] == 0
    labels = refined_labels(FixedMasks(soft), (img * 2 - 1)[None], passes=16)
    assert torch.equal(labels[0].long(), truth)


def test_self_training_teaches_a_copy_and_leaves_F_as_it_was():
    torch.manual_seed(0)
    cfg = tiny_config(f_downs=0)
    F = MaskNet(cfg).eval()
    before = {k: v.clone() for k, v in F.state_dict().items()}
    images = torch.stack([two_colour_image(16, e) for e in (5, 8, 11)] * 4)
    target = refined_labels(F, images).long()

    def loss(net):
        with torch.no_grad():
            return torch.nn.functional.nll_loss(torch.log(net(images).clamp(min=1e-6)), target)

    out = self_train(F, images, steps=60, lr=3e-3, batch=4)
    assert out["steps"] == 60 and 0 <= out["changed"] <= 1
    assert all(torch.equal(before[k], v) for k, v in F.state_dict().items())
    assert loss(out["F"]) < 0.5 * loss(F)  # the copy learnt its labels
    late = self_train(F, images, steps=60, lr=3e-3, deadline=time.perf_counter() - 1)
    assert late["steps"] == 0  # a deadline already past: no step


def rows(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_run_self_trains_at_its_end_within_its_budget_and_keeps_the_better_f(
    tiny_c2mnist, tmp_path
):
    run = tmp_path / "run"
    cfg = tiny_config(self_train_steps=30, self_train_images=16, steps=1000, eval_every=5)
    t = Trainer(cfg, tiny_c2mnist, run, progress=False)
    out = t.fit(minutes=0.15)
    t.close()
    assert out["finished"] and out["minutes"] <= 0.15
    polish = [r for r in rows(run) if r["kind"] == "self_train"]
    assert len(polish) == 1 and 0 < polish[0]["steps"] <= 30
    best = ckpt.load(run / "best.pt")
    evals = [r["iou"] for r in rows(run) if r["kind"] == "eval"]
    if polish[0]["kept"]:  # best.pt holds the self-trained F, which beat every evaluation
        assert best["F_source"].startswith("self-trained")
        assert polish[0]["iou"] > max(evals)
    else:
        assert not best["F_source"].startswith("self-trained")
        assert polish[0]["iou"] <= max(evals)
    assert evaluate_run(run, tiny_c2mnist, "val")["iou"] == pytest.approx(
        max([*evals, polish[0]["iou"]])
    )
    # the same budget again: nothing to do; a larger one trains on and self-trains again
    t = Trainer(cfg, tiny_c2mnist, run, progress=False)
    assert t.fit(minutes=0.15).get("already")
    out = t.fit(minutes=0.3)
    t.close()
    assert out["finished"] and out["minutes"] <= 0.3
    assert len([r for r in rows(run) if r["kind"] == "self_train"]) == 2


def test_a_run_without_a_labelled_validation_split_skips_self_training(tiny_c2mnist, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_c2mnist, data)
    (data / "splits" / "val.txt").unlink()
    run = tmp_path / "run"
    t = Trainer(tiny_config(self_train_steps=5), data, run, progress=False)
    t.fit(steps=4)
    t.close()
    assert [r for r in rows(run) if r["kind"] == "self_train"][0]["skipped"]


def test_the_command_writes_a_new_run_folder_and_refuses_one_that_holds_anything(
    tiny_c2mnist, tmp_path, capsys
):
    from redo_lite.__main__ import main

    run = tmp_path / "run"
    Trainer(tiny_config(), tiny_c2mnist, run, progress=False).fit()
    out = tmp_path / "selftrained"
    main(["self-train", "--run", str(run), "--data", str(tiny_c2mnist), "--out", str(out),
          "--steps", "10", "--images", "16"])  # fmt: skip
    record = json.loads(capsys.readouterr().out)
    assert record["steps"] == 10 and record["images"] == 16
    assert json.loads((out / "self_train.json").read_text())["val_after"] == record["val_after"]
    best = ckpt.load(out / "best.pt")
    assert set(best["nets"]) == {"F", "G", "D"} and best["F_source"].startswith("self-trained")
    src = ckpt.load(run / "best.pt")
    assert all(torch.equal(best["nets"]["G"][k], v) for k, v in src["nets"]["G"].items())
    assert evaluate_run(out, tiny_c2mnist, "val")["iou"] == pytest.approx(record["val_after"])
    listing = sorted(p.name for p in out.iterdir())
    # a second self-train, or a train, into that folder is refused and changes nothing in it
    for argv in (
        ["self-train", "--run", str(run), "--data", str(tiny_c2mnist), "--out", str(out)],
        ["train", "--data", str(tiny_c2mnist), "--out", str(out), "--steps", "2"],
    ):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"error: {out}")
        assert sorted(p.name for p in out.iterdir()) == listing
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine\n")
    with pytest.raises(SystemExit):
        main(["self-train", "--run", str(run), "--data", str(tiny_c2mnist), "--out", str(mine)])
    assert (mine / "notes.txt").read_text() == "mine\n" and len(list(mine.iterdir())) == 1


def test_the_time_kept_for_self_training_is_reckoned_from_the_pace_and_capped(
    tiny_c2mnist, tmp_path
):
    from redo_lite.train import POLISH_SHARE

    t = Trainer(tiny_config(self_train_steps=40), tiny_c2mnist, tmp_path / "run", progress=False)
    t.close()
    assert t._polish_time() == 0.0  # no step taken yet: no pace to reckon from
    t.elapsed, t.total_steps, t._budget = 10.0, 10, 600.0  # a second a ReDO step
    # 40 F steps at a quarter of a step, and 24 images labelled at 0.15 of a step per batch of 4
    # plus 0.022 for each pass of the filter (one here)
    assert t._polish_time() == pytest.approx(0.25 * 40 + (0.15 + 0.022) * 24 / 4)
    t.cfg.self_train_passes = 32  # more passes, more time kept for the labels
    assert t._polish_time() == pytest.approx(0.25 * 40 + (0.15 + 0.022 * 32) * 24 / 4)
    t._budget = 20.0  # a short run stays a ReDO run
    assert t._polish_time() == pytest.approx(POLISH_SHARE * 20.0)
