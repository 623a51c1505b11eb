import json

import pytest
import torch
from conftest import tiny_config

from redo_lite import checkpoint as ckpt
from redo_lite.train import Trainer, TrainingError


def test_a_few_steps_lower_the_z_reconstruction_loss(tiny_c2mnist, tmp_path):
    t = Trainer(tiny_config(), tiny_c2mnist, tmp_path / "run", seed=0, progress=False)
    losses = [t.train_step()["loss_z"] for _ in range(30)]
    assert sum(losses[-5:]) / 5 < 0.75 * sum(losses[:5]) / 5


def states_equal(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(states_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(states_equal(x, y) for x, y in zip(a, b))
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
    rows = lambda p: [
        (r["kind"], r["step"])
        for r in map(json.loads, (p / "metrics.jsonl").read_text().splitlines())
    ]
    assert rows(tmp_path / "whole") == rows(tmp_path / "split")  # no lost or doubled rows


def test_resume_refuses_a_run_of_another_preset(tiny_c2mnist, tmp_path):
    Trainer(tiny_config(), tiny_c2mnist, tmp_path / "run", progress=False).fit(steps=1)
    with pytest.raises(ckpt.CheckpointError, match=r"last.pt: saved with preset 'tiny-test'"):
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


def test_a_bf16_autocast_step_runs_and_updates_the_weights(tiny_c2mnist):
    from redo_lite.nets import build_nets
    from redo_lite.train import make_optimizers, train_step

    cfg = tiny_config()
    torch.manual_seed(0)
    nets = build_nets(cfg)
    opts = make_optimizers(cfg, nets)
    before = nets["D"].head.weight.detach().clone()
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    out = train_step(nets, opts, x, x.flip(0), torch.randn(4, 3, cfg.z_dim), cfg.lambda_z, amp=True)
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())
    assert not torch.equal(before, nets["D"].head.weight)


def test_the_impurity_weight_sharpens_the_masks(tiny_c2mnist):
    """Only the impurity term differs: with it F's masks end purer than without."""
    from redo_lite.nets import build_nets
    from redo_lite.train import make_optimizers, train_step

    cfg = tiny_config(lr_f=1e-3)
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    impurity = {}
    for lam in (0.0, 500.0):
        torch.manual_seed(0)
        nets = build_nets(cfg)
        opts = make_optimizers(cfg, nets)
        for _ in range(10):
            out = train_step(
                nets, opts, x, x.flip(0), torch.randn(4, 3, cfg.z_dim), cfg.lambda_z, lambda_m=lam
            )
        impurity[lam] = out["impurity"]
    assert impurity[500.0] < impurity[0.0] - 0.1


def test_ema_update_averages_the_weights():
    from redo_lite.train import ema_update

    net, ema = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    before = ema.weight.detach().clone()
    ema_update(ema, net, decay=0.9, step=10**6)  # past the warm-up: d = 0.9
    assert torch.allclose(ema.weight, 0.9 * before + 0.1 * net.weight)
    ema_update(ema, net, decay=0.999, step=0)  # warm-up: d = 1/10
    assert torch.allclose(ema.weight, 0.1 * (0.9 * before + 0.1 * net.weight) + 0.9 * net.weight)


def test_averaged_f_is_selected_shipped_and_resumed(tiny_c2mnist, tmp_path):
    """f_ema leaves training untouched, best.pt holds the better-scoring F, and a resume restores the average."""
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
    """Resumed between two log rows, the next row averages the steps it saw, not log_every of them."""
    cfg = tiny_config(log_every=4, eval_every=100, steps=8)
    Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False).fit(steps=2)
    t = Trainer(cfg, tiny_c2mnist, tmp_path / "run", progress=False)
    monkeypatch.setattr(t, "train_step", lambda: {"loss_g": 1.0})
    t.fit(steps=4)
    rows = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["loss_g"] for r in rows if r["kind"] == "train" and r["step"] == 4] == [1.0]
