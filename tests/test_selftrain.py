"""Self-training (beyond/selftrain.py; beyond the paper): F trained on its own
colour-filtered masks, as the phase after ReDO in ``train`` and as ``python -m redo_lite
self-train``."""

import json
import time

import pytest
import torch
from conftest import tiny_config

from beyond.bilateral import colour_filter
from beyond.selftrain import refined_labels, self_train
from redo_lite import checkpoint as ckpt
from redo_lite.nets import MaskNet
from redo_lite.run import evaluate_run
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
    from beyond.bilateral import guided_upsample

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


def test_labelling_stops_at_its_deadline_after_one_batch():
    F = MaskNet(tiny_config(f_downs=0)).eval()
    images = torch.stack([two_colour_image(16, e) for e in (5, 8, 11)] * 4)
    assert len(refined_labels(F, images, batch=5)) == 12
    assert len(refined_labels(F, images, batch=5, deadline=time.perf_counter() - 1)) == 5


def rows(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def train(data, run, *extra):
    from redo_lite.__main__ import main

    main(["train", "--data", str(data), "--out", str(run), "--preset", "tiny", "--threads", "1",
          "--set", "self_train_steps=6", "--set", "self_train_images=8", *extra])  # fmt: skip


def test_train_runs_redo_then_self_training_into_a_folder_of_its_own(
    tiny_c2mnist, tmp_path, capsys
):
    run = tmp_path / "run"
    train(tiny_c2mnist, run, "--steps", "3", "--self-train")
    out = json.loads(capsys.readouterr().out)
    assert out["phase"] == "ReDO" and set(out["test"]) >= {"iou", "acc"}
    st = out["self_training"]
    assert st["out"] == str(run / "selftrained") and st["steps"] == 6 and st["images"] == 8
    assert set(st["test"]) >= {"iou", "acc"}
    # RUN/best.pt is ReDO's model, untouched by the phase; the phase's model is a run of its own
    assert not ckpt.load(run / "best.pt")["F_source"].startswith("self-trained")
    assert ckpt.load(run / "selftrained" / "best.pt")["F_source"].startswith("self-trained")
    assert [r for r in rows(run) if r["kind"] == "train"]
    assert evaluate_run(run / "selftrained", tiny_c2mnist, "val")["iou"] == pytest.approx(
        st["val_after"]
    )


def test_train_says_which_phases_run_and_which_made_the_kept_model(tiny_c2mnist, tmp_path, capsys):
    run = tmp_path / "run"
    train(tiny_c2mnist, run, "--steps", "2", "--self-train")
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("phases: 1. ReDO, 2 steps"))
    assert "2. self-training" in lines[first + 1] and "beyond the paper" in lines[first + 1]
    redo = next(i for i, line in enumerate(lines) if line.startswith("ReDO: test IoU"))
    both = next(i for i, line in enumerate(lines) if line.startswith("ReDO, then self-training"))
    assert first < redo < both  # ReDO's figure first
    kept = [line for line in lines if line.startswith("kept model: ")]
    st = json.loads(cap.out)["self_training"]
    phase = "self-training phase" if st["val_after"] > st["val_before"] else "(ReDO;"
    assert len(kept) == 1 and phase in kept[0]


def test_steps_alone_train_redo_and_nothing_else_unless_asked(tiny_c2mnist, tmp_path, capsys):
    run = tmp_path / "run"
    train(tiny_c2mnist, run, "--steps", "2")
    cap = capsys.readouterr()
    assert "self_training" not in json.loads(cap.out)
    assert "no self-training: --steps counts ReDO steps only" in cap.err
    assert "kept model: " + str(run) + " (ReDO)" in cap.err
    assert not (run / "selftrained").exists()
    assert not [r for r in rows(run) if r["kind"] == "self_train"]


def test_minutes_set_out_the_self_training_time_before_the_run(tiny_c2mnist, tmp_path, capsys):
    """--minutes M: ReDO (1 - share) M, self-training share M, said before the first step."""
    from beyond.selftrain import SELF_TRAIN_SHARE

    run = tmp_path / "run"
    train(tiny_c2mnist, run, "--minutes", "0.05", "--set", "steps=3")
    err = capsys.readouterr().err
    redo_min = 0.05 * (1 - SELF_TRAIN_SHARE)
    assert f"at most 3 steps or {redo_min:.1f} minutes" in err
    assert f"within {0.05 * SELF_TRAIN_SHARE:.1f} minutes" in err
    assert (run / "selftrained" / "self_train.json").is_file()


def test_an_interrupted_phase_runs_again_with_the_same_command(tiny_c2mnist, tmp_path, capsys):
    run = tmp_path / "run"
    train(tiny_c2mnist, run, "--steps", "2", "--self-train")
    capsys.readouterr()
    # as if the phase was killed before its record was written
    (run / "selftrained" / "self_train.json").unlink()
    from redo_lite.files import temp_name

    half = run / "selftrained" / (temp_name(run / "selftrained" / "best.pt") + "x1y2.tmp")
    half.write_bytes(b"half")  # a write the kill cut short
    redo = (run / "best.pt").read_bytes()
    train(tiny_c2mnist, run, "--steps", "2", "--self-train")
    cap = capsys.readouterr()
    assert "already trained" in cap.err and json.loads(cap.out)["self_training"]["steps"] == 6
    assert (run / "selftrained" / "self_train.json").is_file()
    assert not half.exists()
    assert (run / "best.pt").read_bytes() == redo
    # finished: the same command again runs nothing
    train(tiny_c2mnist, run, "--steps", "2", "--self-train")
    assert "self-training: done before" in capsys.readouterr().err


def test_a_phase_folder_holding_a_file_of_yours_is_refused_by_name(tiny_c2mnist, tmp_path, capsys):
    run = tmp_path / "run"
    train(tiny_c2mnist, run, "--steps", "2")
    (run / "selftrained").mkdir()
    (run / "selftrained" / "notes.txt").write_text("mine\n")
    with pytest.raises(SystemExit) as e:
        train(tiny_c2mnist, run, "--steps", "2", "--self-train")
    assert e.value.code == 2
    assert "notes.txt" in capsys.readouterr().err
    assert (run / "selftrained" / "notes.txt").read_text() == "mine\n"


def test_a_run_without_a_labelled_validation_split_skips_self_training(
    tiny_c2mnist, tmp_path, capsys
):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_c2mnist, data)
    (data / "splits" / "val.txt").unlink()
    run = tmp_path / "run"
    train(data, run, "--steps", "2", "--self-train")
    assert "no labelled validation split" in capsys.readouterr().err
    assert not (run / "selftrained").exists()


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


def test_passes_other_than_the_runs_are_written_where_the_model_goes(tiny_c2mnist, tmp_path):
    from beyond.selftrain import self_train_run
    from redo_lite.config import Config

    run = tmp_path / "run"
    Trainer(tiny_config(), tiny_c2mnist, run, progress=False).fit(steps=2)
    out = tmp_path / "st"
    record = self_train_run(run, tiny_c2mnist, out, steps=2, images=8, passes=3)
    assert record["passes"] == 3
    # the folder says how its labels were made, and loads as any run (settings and .pt agree)
    assert Config.load(out / "config.json").self_train_passes == 3
    assert Config.load(run / "config.json").self_train_passes == 1  # the source is left alone
    assert evaluate_run(out, tiny_c2mnist, "val")["iou"] == pytest.approx(record["val_after"])
