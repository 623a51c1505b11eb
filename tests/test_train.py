import json

import pytest
import torch
from conftest import tiny_config

from redo_lite import checkpoint as ckpt
from redo_lite.train import Trainer, TrainingError


def test_a_few_steps_lower_the_z_reconstruction_loss(tiny_c2mnist, tmp_path):
    t = Trainer(tiny_config(), tiny_c2mnist, tmp_path / "run", seed=0, progress=False)
    losses = [t.step_fn(t.step_nets, t.opts, *t.draw(), 5.0)["loss_z"] for _ in range(30)]
    assert sum(losses[-5:]) / 5 < 0.75 * sum(losses[:5]) / 5


def states_equal(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(states_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(states_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    return a == b


def test_resume_continues_exactly(tiny_c2mnist, tmp_path):
    cfg = tiny_config(steps=6, eval_every=3)
    whole = Trainer(cfg, tiny_c2mnist, tmp_path / "whole", seed=1, progress=False)
    whole.fit()
    first = Trainer(cfg, tiny_c2mnist, tmp_path / "split", seed=1, progress=False)
    first.fit(steps=3)
    again = Trainer(cfg, tiny_c2mnist, tmp_path / "split", seed=1, progress=False)
    assert again.resumed and again.step == 3
    assert states_equal(
        again.opts["G"].state_dict(), first.opts["G"].state_dict()
    )  # optimiser state restored
    again.fit()
    a, b = ckpt.load(tmp_path / "whole" / "last.pt"), ckpt.load(tmp_path / "split" / "last.pt")
    assert states_equal(a["nets"], b["nets"]) and states_equal(a["opts"], b["opts"])
    assert a["step"] == b["step"] == 6

    def rows(p):
        return [
            (r["kind"], r["step"])
            for r in map(json.loads, (p / "metrics.jsonl").read_text().splitlines())
        ]

    assert rows(tmp_path / "whole") == rows(tmp_path / "split")  # no lost or doubled rows


def test_resume_refuses_a_run_of_another_preset(tiny_c2mnist, tmp_path):
    Trainer(tiny_config(), tiny_c2mnist, tmp_path / "run", progress=False).fit(steps=1)
    with pytest.raises(ckpt.CheckpointError, match=r"last.pt: saved with preset 'tiny'"):
        Trainer(
            tiny_config(preset="other", g_channels=8),
            tiny_c2mnist,
            tmp_path / "run",
            progress=False,
        )


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tiny_c2mnist, tmp_path):
    t = Trainer(tiny_config(), tiny_c2mnist, tmp_path / "run", progress=False)
    t.fit(steps=3)
    before = (tmp_path / "run" / "last.pt").read_bytes()
    with torch.no_grad():
        t.nets["D"].head.weight.fill_(float("nan"))
    with pytest.raises(TrainingError, match=r"non-finite .*last.pt"):
        t.fit(steps=6)
    assert (tmp_path / "run" / "last.pt").read_bytes() == before


def test_collapse_restart_is_logged_counted_and_bounded(tiny_c2mnist, tmp_path):
    cfg = tiny_config(
        restart_min_area=1.0,
        restart_after=0,
        restart_before=100,
        max_restarts=2,
        eval_every=2,
        steps=4,
    )  # every check "collapses"
    t = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False)
    out = t.fit()
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["restarts"] for r in rows if r["kind"] == "restart"] == [1, 2]
    assert any(r["kind"] == "restart_gave_up" for r in rows)
    assert out["restarts"] == 2 and out["attempt"] == 2


def test_a_bf16_autocast_run_trains_and_saves_float32_weights(tiny_c2mnist, tmp_path):
    t = Trainer(tiny_config(), tiny_c2mnist, tmp_path / "run", progress=False, amp=True)
    before = t.nets["D"].head.weight.detach().clone()
    out = t.fit(steps=2)
    assert out["step"] == 2 and not torch.equal(before, t.nets["D"].head.weight)
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor(r["loss_d"])) for r in rows if r["kind"] == "train")
    saved = ckpt.load(tmp_path / "run" / "last.pt")["nets"]["D"]
    assert all(v.dtype == torch.float32 for v in saved.values() if v.is_floating_point())


def test_a_presets_amp_applies_only_where_bf16_is_fast(tiny_c2mnist, tmp_path, monkeypatch):
    from redo_lite import train

    cfg = tiny_config(amp=True)
    monkeypatch.setattr(train, "bf16_is_fast", lambda device: False)
    slow = Trainer(cfg, tiny_c2mnist, tmp_path / "a", progress=False)
    asked = Trainer(cfg, tiny_c2mnist, tmp_path / "b", progress=False, amp=True)
    monkeypatch.setattr(train, "bf16_is_fast", lambda device: True)
    fast = Trainer(cfg, tiny_c2mnist, tmp_path / "c", progress=False)
    assert (slow.amp, asked.amp, fast.amp) == (False, True, True)
    assert isinstance(fast.step_nets["F"], train.Autocast)
    assert not isinstance(slow.step_nets["F"], train.Autocast)
    for t in (slow, asked, fast):
        t.close()
    assert isinstance(train.bf16_is_fast(torch.device("cpu")), bool)


def test_a_callback_that_returns_true_ends_the_fit(tiny_c2mnist, tmp_path):
    seen = []

    def enough(t):
        seen.append(t.step)
        return t.step >= 4

    t = Trainer(tiny_config(eval_every=2), tiny_c2mnist, tmp_path / "run", progress=False)
    out = t.fit(steps=6, callback=enough)
    assert seen == [2, 4] and out["step"] == 4
    assert ckpt.load(tmp_path / "run" / "last.pt")["step"] == 4  # saved before the callback


def test_ema_update_averages_the_weights():
    from redo_lite.train import ema_update

    net, ema = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = ema.weight.detach().clone()
    ema_update(ema, net, decay=0.9, step=10**6)  # past the warm-up: d = 0.9
    assert torch.allclose(ema.weight, 0.9 * before + 0.1 * net.weight)
    ema_update(ema, net, decay=0.999, step=0)  # warm-up: d = 1/10
    assert torch.allclose(ema.weight, 0.1 * (0.9 * before + 0.1 * net.weight) + 0.9 * net.weight)


def test_averaged_f_is_selected_shipped_and_resumed(tiny_c2mnist, tmp_path):
    """f_ema leaves training untouched, best.pt holds the better-scoring F, and a resume restores
    the average."""
    cfg = tiny_config(steps=6, eval_every=3, f_ema=0.9)
    plain = Trainer(
        tiny_config(steps=6, eval_every=3), tiny_c2mnist, tmp_path / "plain", seed=1, progress=False
    )
    plain.fit()
    whole = Trainer(cfg, tiny_c2mnist, tmp_path / "whole", seed=1, progress=False)
    whole.fit()
    assert states_equal(
        plain.nets["F"].state_dict(), whole.nets["F"].state_dict()
    )  # same trajectory
    assert not states_equal(whole.F_ema.state_dict(), whole.nets["F"].state_dict())
    best = ckpt.load(tmp_path / "whole" / "best.pt")
    evals = [
        r
        for r in map(json.loads, (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines())
        if r["kind"] == "eval"
    ]
    assert all("iou_live" in r for r in evals)
    chosen = max(evals, key=lambda r: max(r["iou"], r["iou_live"]))
    assert best["step"] == chosen["step"] and best["metrics"]["iou"] == max(
        chosen["iou"], chosen["iou_live"]
    )
    assert best["F_source"] == ("averaged" if chosen["iou"] >= chosen["iou_live"] else "live")
    if chosen["step"] == 6:
        F_best = whole.F_ema if best["F_source"] == "averaged" else whole.nets["F"]
        assert states_equal(best["nets"]["F"], F_best.state_dict())
    split = Trainer(cfg, tiny_c2mnist, tmp_path / "split", seed=1, progress=False)
    split.fit(steps=3)
    again = Trainer(cfg, tiny_c2mnist, tmp_path / "split", seed=1, progress=False)
    assert states_equal(again.F_ema.state_dict(), split.F_ema.state_dict())
    again.fit()
    assert states_equal(again.F_ema.state_dict(), whole.F_ema.state_dict())


def test_best_pt_holds_whichever_f_scores_better(tiny_c2mnist, tmp_path, monkeypatch):
    """With an averaged F, the live F and the averaged F are both candidates at each evaluation."""
    import redo_lite.train as train

    t = Trainer(
        tiny_config(steps=2, eval_every=1, f_ema=0.9),
        tiny_c2mnist,
        tmp_path / "run",
        progress=False,
    )
    real, iou = (
        train.evaluate,
        {(1, "live"): 0.5, (1, "averaged"): 0.4, (2, "live"): 0.3, (2, "averaged"): 0.6},
    )

    def rigged(F, data, limit=None):
        return {
            **real(F, data, limit),
            "iou": iou[t.step, "live" if F is t.nets["F"] else "averaged"],
        }

    monkeypatch.setattr(train, "evaluate", rigged)
    path = tmp_path / "run" / "best.pt"
    t.fit(steps=1)
    best = ckpt.load(path)
    assert (best["F_source"], best["metrics"]["iou"]) == ("live", 0.5)
    assert states_equal(best["nets"]["F"], t.nets["F"].state_dict())
    t.fit(steps=2)
    best = ckpt.load(path)
    assert (best["F_source"], best["metrics"]["iou"], best["step"]) == ("averaged", 0.6, 2)
    assert states_equal(best["nets"]["F"], t.F_ema.state_dict())
    assert not states_equal(t.F_ema.state_dict(), t.nets["F"].state_dict())


def test_the_first_log_row_after_a_resume_is_a_mean(tiny_c2mnist, tmp_path, monkeypatch):
    """Resumed between two log rows, the next row averages the steps it saw, not log_every."""
    cfg = tiny_config(log_every=4, eval_every=100, steps=8)
    Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False).fit(steps=2)
    t = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False)
    t.step_fn = lambda *args: {"loss_g": 1.0}
    t.fit(steps=4)
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["loss_g"] for r in rows if r["kind"] == "train" and r["step"] == 4] == [1.0]


def copy_without_masks(src, dst, stems):
    """A copy of a data folder in which ``stems`` have no mask (LFW's train split has none)."""
    import shutil

    shutil.copytree(src, dst)
    for s in stems:
        (dst / "masks" / f"{s}.png").unlink()
    return dst


def train_stems(data):
    return (data / "splits" / "train.txt").read_text().split()


def test_lfw_layout_selects_on_validation_though_train_has_no_masks(tiny_c2mnist, tmp_path):
    """LFW: train without masks, val/test with masks: the run validates, writes best.pt chosen on
    validation and scores it on test."""
    data = copy_without_masks(tiny_c2mnist, tmp_path / "lfw", train_stems(tiny_c2mnist))
    t = Trainer(tiny_config(steps=4, eval_every=2), data, tmp_path / "run", progress=False)
    t.fit()
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if r["kind"] == "eval"]
    assert [r["step"] for r in evals] == [2, 4] and all(r["split"] == "val" for r in evals)
    best = ckpt.load(tmp_path / "run" / "best.pt")
    assert best["metrics"]["iou"] == max(r["iou"] for r in evals)
    assert t.final_test(data)["split"] == "test"


def test_flowers_lfw_layout_trains_and_scores_only_the_images_with_masks(tiny_c2mnist, tmp_path):
    """Flowers+LFW: a split where only some images have masks trains, and evaluation scores the
    images that have one."""
    from redo_lite.data import ImageFolderData
    from redo_lite.evaluation import evaluate

    stems = train_stems(tiny_c2mnist)
    data = copy_without_masks(tiny_c2mnist, tmp_path / "mixed", stems[::2])
    out = Trainer(tiny_config(steps=2, eval_every=2), data, tmp_path / "run", progress=False).fit()
    assert out["step"] == 2 and (tmp_path / "run" / "best.pt").exists()
    train = ImageFolderData(data, "train", 16, 3, masks="where present")
    assert train.has_mask.tolist() == [i % 2 == 1 for i in range(len(stems))]
    F = Trainer(tiny_config(), data, tmp_path / "run2", progress=False).nets["F"]
    assert evaluate(F, train)["images"] == len(stems) // 2


def test_the_logged_losses_are_reduced_on_the_trainers_device(tiny_c2mnist, tmp_path, monkeypatch):
    """Several processes: the tensor of logged values is all-reduced on the model's device (NCCL
    cannot reduce CPU tensors); here the all-reduce is intercepted to see where its input lives."""
    import torch.distributed as dist

    t = Trainer(tiny_config(), tiny_c2mnist, tmp_path / "run", progress=False)
    seen = []

    def fake_all_reduce(tensor):
        seen.append(tensor.device)
        tensor.mul_(2)  # as if a second process had logged the same values

    monkeypatch.setattr(dist, "all_reduce", fake_all_reduce)
    t.world = 2
    out = t._global_mean({"loss_g": 1.5, "loss_d": -2.0})
    assert seen == [t.device] and out == {"loss_g": 1.5, "loss_d": -2.0}


def test_a_run_trained_to_its_end_says_so_and_logs_nothing_more(tiny_c2mnist, tmp_path, capsys):
    cfg = tiny_config(steps=2, eval_every=2)
    Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False).fit()
    log = (tmp_path / "run" / "metrics.jsonl").read_text()
    out = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False).fit()
    assert out["finished"] and out["step"] == 2
    assert "already trained to step 2 of 2" in capsys.readouterr().err
    assert (tmp_path / "run" / "metrics.jsonl").read_text() == log


def test_ctrl_c_stops_after_the_step_saves_and_resumes_exactly(tiny_c2mnist, tmp_path, capsys):
    """SIGINT in the middle of a step: the step finishes, last.pt is saved at that step, one line
    says how to resume, and the resumed run ends where an uninterrupted one ends."""
    import os
    import signal

    cfg = tiny_config(steps=6, eval_every=100)
    whole = Trainer(cfg, tiny_c2mnist, tmp_path / "whole", seed=3, progress=False)
    whole.fit()
    t = Trainer(cfg, tiny_c2mnist, tmp_path / "split", seed=3, progress=False)
    real_step = t.step_fn

    def step_then_interrupt(*args):
        out = real_step(*args)
        if t.step == 2:  # the third step: Ctrl-C arrives while it runs
            os.kill(os.getpid(), signal.SIGINT)
        return out

    t.step_fn = step_then_interrupt
    out = t.fit()
    assert out.get("interrupted") and out["step"] == 3
    assert ckpt.load(tmp_path / "split" / "last.pt")["step"] == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "last.pt is saved" in err[0] and "resume" in err[0]
    again = Trainer(cfg, tiny_c2mnist, tmp_path / "split", seed=3, progress=False)
    again.fit()
    a, b = ckpt.load(tmp_path / "whole" / "last.pt"), ckpt.load(tmp_path / "split" / "last.pt")
    assert states_equal(a["nets"], b["nets"]) and states_equal(a["opts"], b["opts"])


def test_the_trainer_runs_the_step_function_it_is_given(tiny_c2mnist, tmp_path):
    """Notebook 08: the learner's step is the step the Trainer runs."""
    from redo_lite.step import train_step

    calls = []

    def my_step(nets, opts, x_gen, x_real, z, lambda_z):
        calls.append((x_gen.shape, x_real.shape, z.shape, lambda_z))
        return train_step(nets, opts, x_gen, x_real, z, lambda_z)

    cfg = tiny_config(steps=2, eval_every=2)
    Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False, step_fn=my_step).fit()
    assert calls == [((4, 3, 16, 16), (4, 3, 16, 16), (4, 3, 4), cfg.lambda_z)] * 2


def test_a_time_budget_sets_the_bars_end_and_a_run_that_used_it_says_so(tiny_c2mnist, tmp_path):
    """With --minutes the progress bar counts to the step the pace reaches in that time, not to
    the preset's step cap; the summary of a run that used its budget says ``finished``."""
    seen = []
    t = Trainer(tiny_config(steps=10**6, eval_every=10**6), tiny_c2mnist, tmp_path / "r")
    t.progress = False
    real = t._progress_bar

    def spy(steps):
        bar = real(steps)
        seen.append(bar)
        return bar

    t._progress_bar = spy
    out = t.fit(minutes=0.05)
    assert out["finished"] and 0 < out["minutes"] * 60 < 30
    assert seen[0].total < 10**5  # the budget's end, not the 10**6-step cap
    short = Trainer(tiny_config(steps=3), tiny_c2mnist, tmp_path / "s", progress=False).fit()
    assert short["finished"] and short["step"] == 3


def test_the_area_floor_reaches_F_as_if_the_step_had_added_the_loss():
    """Trainer wraps F in AreaFloor when area_floor > 0: a step function that knows nothing of it
    gets F's gradients equal to those of its own loss plus losses.area_floor_loss."""
    from redo_lite.losses import area_floor_loss
    from redo_lite.nets import build_nets
    from redo_lite.train import AreaFloor

    torch.manual_seed(0)
    cfg = tiny_config(area_floor=0.4, area_weight=3.0)  # a floor every region is under
    F = build_nets(cfg)["F"]
    x = torch.rand(4, 3, 16, 16) * 2 - 1

    def grads(loss):
        F.zero_grad()
        loss.backward()
        return [p.grad.clone() for p in F.parameters()]

    wrapped = grads((AreaFloor(F, 0.4, 3.0)(x) ** 2).sum())
    masks = F(x)
    by_hand = grads((masks**2).sum() + area_floor_loss(masks, 0.4, 3.0))
    assert area_floor_loss(F(x), 0.4, 3.0).item() > 0
    for a, b in zip(wrapped, by_hand, strict=True):
        torch.testing.assert_close(a, b)
    with torch.no_grad():  # evaluation sees the plain masks
        torch.testing.assert_close(AreaFloor(F, 0.4, 3.0)(x), F(x))


def test_a_run_with_an_area_floor_trains_through_the_wrapped_F(tiny_c2mnist, tmp_path):
    from redo_lite.train import AreaFloor

    t = Trainer(tiny_config(area_floor=0.05), tiny_c2mnist, tmp_path / "run", progress=False)
    assert isinstance(t.step_nets["F"], AreaFloor) and t.step_nets["F"].floor == 0.05
    plain = Trainer(tiny_config(), tiny_c2mnist, tmp_path / "r0", progress=False)
    assert not isinstance(plain.step_nets["F"], AreaFloor)
    out = t.fit(steps=3)
    assert out["step"] == 3 and (tmp_path / "run" / "best.pt").exists()


def test_the_area_floors_written_out_gradient_is_the_losss_gradient():
    """The backward of the AreaFloor wrapper is written by hand (a compiled step can trace it):
    it must equal autograd's gradient of losses.area_floor_loss, with regions above and below the
    floor, and with masks at exactly zero."""
    from redo_lite.losses import area_floor_loss
    from redo_lite.train import _WithAreaFloor

    torch.manual_seed(1)
    logits = torch.randn(3, 4, 8, 8)
    logits[:, 0] += 3  # region 0 wins most pixels, region 3 almost none
    logits[:, 3] -= 3
    masks = torch.softmax(logits, 1)
    masks[0, 3, 0, 0] = 0.0
    a = masks.clone().requires_grad_(True)
    area_floor_loss(a, 0.1, 7.0).backward()
    b = masks.clone().requires_grad_(True)
    _WithAreaFloor.apply(b, 0.1, 7.0).sum().backward()
    won = torch.softmax(10 * masks.clamp_min(1e-8).log(), 1).mean((0, 2, 3))
    assert (won > 0.1).any() and (won < 0.1).any()
    torch.testing.assert_close(b.grad - 1, a.grad)  # the identity's gradient is 1 everywhere


def collapsed_scores(areas, per_class=(0.97, 0.9, 0.03)):
    """Validation scores as ``Trainer._score`` returns them, for a model that collapsed."""
    return {
        "iou": 0.47, "iou_split": 0.47, "acc": 0.95, "acc_split": 0.95,
        "iou_split_regions": list(per_class), "areas": list(areas),
        "soft_areas": [max(a, 0.002) for a in areas],
    }  # fmt: skip


def test_a_region_that_wins_no_pixel_restarts_the_run_at_the_first_evaluation(
    tiny_c2mnist, tmp_path, monkeypatch
):
    # the learner's run of issue 25: region 0 won no pixel, the odd digit stayed background
    cfg = tiny_config(
        restart_min_area=0.01, restart_on="hard", restart_after=3, restart_before=30,
        max_restarts=1, eval_every=3, steps=3,
    )  # fmt: skip
    monkeypatch.setattr(Trainer, "_score", lambda self, F: collapsed_scores([0.0, 0.04, 0.96]))
    t = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False)
    out = t.fit()
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    restarts = [r for r in rows if r["kind"] == "restart"]
    assert [(r["step"], r["total_steps"]) for r in restarts] == [(3, 3)]  # the first evaluation
    assert "hard region area 0.0000 < 0.01 (region 0)" in restarts[0]["reason"]
    assert out["restarts"] == 1 and out["attempt"] == 1


def test_the_c2mnist_preset_checks_for_collapse_from_its_first_evaluation():
    from redo_lite.config import get_preset

    cfg = get_preset("c2mnist-cpu")
    assert cfg.restart_min_area > 0 and cfg.restart_after <= cfg.eval_every <= 100


def test_collapse_signs_name_an_empty_region_and_an_uncovered_class(tiny_c2mnist, tmp_path):
    from redo_lite.train import collapse_signs

    scores = collapsed_scores([0.0, 0.04, 0.96])
    names = ["background", "even digit", "odd digit"]
    assert collapse_signs(scores, 0.01, "hard") == ["hard region area 0.0000 < 0.01 (region 0)"]
    assert collapse_signs(scores, 0.01, "soft") == ["soft region area 0.0020 < 0.01 (region 0)"]
    signs = collapse_signs(collapsed_scores([0.5, 0.3, 0.2]), 0.01, "hard", 0.1, names)
    assert signs == ["no region covers the odd digit: IoU 0.030 < 0.1"]
    assert (
        collapse_signs(collapsed_scores([0.5, 0.3, 0.2], (0.9, 0.8, 0.7)), 0.01, "hard", 0.1) == []
    )
    # the Trainer: a class no region covers restarts only inside the window, and only if asked
    cfg = tiny_config(restart_min_area=0.01, restart_on="hard", restart_after=3,
                      restart_before=30, restart_min_iou=0.1)  # fmt: skip
    t = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False)
    t._candidates = [("live", None, collapsed_scores([0.5, 0.3, 0.2]))]
    t.step = 2
    assert not t.collapsed(t._candidates[0][2])  # before the window
    t.step = 3
    assert t.collapsed(t._candidates[0][2]) and "odd digit" in t._collapse_reason
    t.cfg = cfg.override(["restart_min_iou=0"])
    assert not t.collapsed(t._candidates[0][2])


def test_with_patience_a_collapse_restarts_only_if_the_next_evaluation_still_shows_it(
    tiny_c2mnist, tmp_path, monkeypatch
):
    # a region under the threshold at steps 2 (a dip), fine at 4, then under it at 6 and 8
    dips = iter([[0.003, 0.05, 0.947], [0.02, 0.05, 0.93], [0.0, 0.04, 0.96], [0.0, 0.04, 0.96]])
    monkeypatch.setattr(Trainer, "_score", lambda self, F: collapsed_scores(next(dips)))
    cfg = tiny_config(
        restart_min_area=0.01, restart_on="hard", restart_patience=2, restart_after=2,
        restart_before=30, max_restarts=1, eval_every=2, steps=8,
    )  # fmt: skip
    t = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False)
    t.fit(steps=6)  # stop after the first sign of the second dip: it must survive a resume
    t.close()
    t = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False)
    assert t.signs_in_a_row == 1
    out = t.fit()
    rows = [json.loads(r) for r in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    events = [
        (r["kind"], r["total_steps"]) for r in rows if r["kind"] in ("collapse_sign", "restart")
    ]
    assert events == [("collapse_sign", 2), ("collapse_sign", 6), ("restart", 8)]
    assert out["restarts"] == 1 and out["attempt"] == 1 and t.signs_in_a_row == 0


def test_the_same_steps_give_the_same_model_on_an_idle_or_a_busy_machine(tiny_c2mnist, tmp_path):
    # notebook 08's budget is in steps: a slow machine (here every step waits) ends with the same
    # networks, whether the fit is one call or the notebook's two (20 steps timed, then the rest)
    import time

    from redo_lite.step import train_step

    def slow_step(*args):
        time.sleep(0.05)
        return train_step(*args)

    cfg = tiny_config(steps=6, eval_every=3)
    Trainer(cfg, tiny_c2mnist, tmp_path / "idle", seed=2, progress=False).fit(steps=6)
    busy = Trainer(cfg, tiny_c2mnist, tmp_path / "busy", seed=2, progress=False, step_fn=slow_step)
    busy.fit(steps=2)
    busy.fit(steps=6, minutes=60)
    a, b = ckpt.load(tmp_path / "idle" / "last.pt"), ckpt.load(tmp_path / "busy" / "last.pt")
    assert states_equal(a["nets"], b["nets"]) and a["step"] == b["step"] == 6
    assert b["elapsed"] > a["elapsed"]  # it did take longer

    def evals(p):
        rows = map(json.loads, (p / "metrics.jsonl").read_text().splitlines())
        return {r["step"]: (r["iou"], r["areas"]) for r in rows if r["kind"] == "eval"}

    idle, slow = evals(tmp_path / "idle"), evals(tmp_path / "busy")
    assert idle == {k: v for k, v in slow.items() if k in idle} and set(idle) == {3, 6}
