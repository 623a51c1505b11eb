"""The scripts under benchmarks/ and the research probes under benchmarks/probes/, on tiny inputs
(their figures are in benchmarks/results/ and the pages written from it)."""

import json
import re

import conftest
import pytest
import torch
from conftest import tiny_config

from course import benchmark_note
from redo_lite.run import evaluate_run
from redo_lite.train import Trainer


def load_script(name):
    return conftest.load_script(f"benchmarks/{name}.py")


def test_critic_probe_paints_one_region_with_another_regions_mean_colour():
    probe = load_script("probes/critic_probe")
    x = torch.rand(2, 3, 4, 4) * 2 - 1
    gt = torch.zeros(2, 4, 4, dtype=torch.long)
    gt[:, :2, :2], gt[:, 2:, 2:] = 1, 2
    gt[1][gt[1] == 2] = 0  # image 1 has no region 2: left alone
    y = probe.paint(x, gt, 2, 0)
    keep = gt[0] != 2
    torch.testing.assert_close(y[0][:, keep], x[0][:, keep])
    want = x[0][:, gt[0] == 0].mean(1)[:, None].expand(3, 4)
    torch.testing.assert_close(y[0][:, gt[0] == 2], want)
    assert torch.equal(y[1], x[1])


def test_critic_probe_runs_on_a_trained_run(tiny_c2mnist, tmp_path, capsys):
    run = tmp_path / "run"
    Trainer(tiny_config(), tiny_c2mnist, run, seed=0, progress=False).fit(steps=3)
    args = [str(run), "--data", str(tiny_c2mnist), "--images", "8"]
    load_script("probes/critic_probe").main(args)
    out = capsys.readouterr().out
    for edit in ("real", "even digit erased", "odd digit erased"):
        assert edit in out
    assert out.count("mean D") == 5


def test_c2mnist_benchmark_scores_the_model_selected_early_and_at_the_end(
    tiny_c2mnist, tmp_path, capsys
):
    from redo_lite.checkpoint import load

    config = tmp_path / "tiny.json"
    tiny_config(eval_every=2).save(config)
    runs = tmp_path / "runs"
    args = ["--runs", str(runs), "--seeds", "3", "--data", str(tiny_c2mnist), "--jobs", "1"]
    args += ["--preset", str(config), "--minutes", "0.1", "--at", "0.05", "--target", "2.0"]
    load_script("c2mnist_cpu").main(args)
    out = capsys.readouterr().out
    early, final = load(runs / "seed3" / "at0.05min" / "best.pt"), load(runs / "seed3" / "best.pt")
    assert 2 <= early["step"] <= final["step"]
    assert "== seed 3" in out
    assert re.search(
        r"within 0.05 min \(reached at \d+ steps, [\d.]+ min\): best val IoU [\d.]+; sel", out
    )
    assert len([r for r in out.splitlines() if r.strip().startswith("0.")]) >= 2  # eval rows
    assert re.search(
        r"within 0.05 min: test IoU >= 0.8 for [01] of 1 seeds \(3: [\d.]+ \(\d+ steps", out
    )
    assert "within 0.1 min: test IoU >= 2.0 for 0 of 1 seeds" in out
    floor = re.search(
        r"all-background prediction on the test split: acc ([\d.]+), digit IoU ([\d.]+)", out
    )
    assert floor and 0.5 < float(floor[1]) < 1 and float(floor[2]) < 0.2  # mostly background
    assert "live F  areas" not in out  # no averaged-F column in this run
    load_script("c2mnist_cpu").main([*args, "--no-train", "--target", "0.0"])
    assert "within 0.1 min: test IoU >= 0.0 for 1 of 1 seeds" in capsys.readouterr().out

    # --json: the figures notebook 08 reads, into a new file only
    figures = tmp_path / "results" / "c2mnist_cpu.json"
    load_script("c2mnist_cpu").main([*args, "--no-train", "--json", str(figures)])
    rec = json.loads(figures.read_text())
    seed = rec["seeds"][0]
    assert rec["command"] == " ".join(["python3 benchmarks/c2mnist_cpu.py", *args])  # trains them
    rows = [json.loads(r) for r in (runs / "seed3" / "metrics.jsonl").read_text().splitlines()]
    assert seed["seed"] == 3 and seed["steps"] == rows[-1]["total_steps"] > 0
    assert seed["within_0.1_min"]["iou"] == pytest.approx(
        evaluate_run(runs / "seed3", tiny_c2mnist)["iou"], abs=1e-4
    )
    assert rec["targets"]["test_iou_2.0_within_0.1_min"] == "0 of 1"
    assert "iou" in benchmark_note(figures, seed=3) and "seed 5 is not among" in benchmark_note(
        figures, seed=5
    )
    figures.write_text("{}")
    with pytest.raises(SystemExit, match="exists; name another file, or add --force"):
        load_script("c2mnist_cpu").main([*args, "--no-train", "--json", str(figures)])
    assert figures.read_text() == "{}"  # nothing overwritten unasked
    load_script("c2mnist_cpu").main([*args, "--no-train", "--json", str(figures), "--force"])
    assert json.loads(figures.read_text())["seeds"][0]["seed"] == 3


def test_c2mnist_benchmark_by_steps_counts_every_attempt_and_reports_steps_and_minutes(
    tiny_c2mnist, tmp_path, capsys
):
    config = tmp_path / "tiny.json"
    # every evaluation inside the window "collapses": one restart at step 2, then train on
    tiny_config(eval_every=2, restart_min_area=1.0, restart_after=2, restart_before=2,
                max_restarts=1).save(config)  # fmt: skip
    runs = tmp_path / "runs"
    args = ["--runs", str(runs), "--seeds", "2", "--data", str(tiny_c2mnist), "--jobs", "1"]
    args += ["--preset", str(config), "--steps", "8", "--at-steps", "4", "--target-at", "0"]
    load_script("c2mnist_cpu").main([*args, "--json", str(tmp_path / "steps.json")])
    out = capsys.readouterr().out
    rows = [json.loads(r) for r in (runs / "seed2" / "metrics.jsonl").read_text().splitlines()]
    evals = [(r["attempt"], r["step"], r["total_steps"]) for r in rows if r["kind"] == "eval"]
    # 8 steps over both attempts (the collapsed attempt's 2 count), not 8 after the restart
    assert evals == [(0, 2, 2), (1, 2, 4), (1, 4, 6), (1, 6, 8)]
    from redo_lite.checkpoint import load

    early = load(runs / "seed2" / "at4steps" / "best.pt")
    assert early["step"] <= 2 and "self_train" not in [r["kind"] for r in rows]  # ReDO alone
    assert re.search(r"within 4 steps \(reached at 4 steps, [\d.]+ min\): best val IoU", out)
    assert re.search(r"within 8 steps: test IoU >= 0.9 for [01] of 1 seeds \(2: [\d.]+ \(8 st", out)
    rec = json.loads((tmp_path / "steps.json").read_text())
    assert (rec["steps"], rec["at_steps"], rec["seeds"][0]["steps"]) == (8, 4, 8)
    assert rec["seeds"][0]["within_4_steps"]["reached_at"].startswith("4 steps, ")
    assert rec["targets"]["test_iou_0.0_within_4_steps"] == "1 of 1"


def test_c2mnist_benchmark_counts_self_training_steps_inside_each_budget(
    tiny_c2mnist, tmp_path, capsys
):
    config = tmp_path / "tiny.json"
    tiny_config(eval_every=2, self_train_passes=3).save(config)
    runs = tmp_path / "runs"
    args = ["--runs", str(runs), "--seeds", "1", "--data", str(tiny_c2mnist), "--jobs", "1"]
    args += ["--preset", str(config), "--steps", "8", "--at-steps", "4", "--self-train-steps", "2"]
    load_script("c2mnist_cpu").main([*args, "--json", str(tmp_path / "st.json")])
    out = capsys.readouterr().out
    run = runs / "seed1"
    rows = [json.loads(r) for r in (run / "metrics.jsonl").read_text().splitlines()]
    # ReDO gets 8 - 2 steps; the early snapshot is the model selected within 4 - 2
    assert [r["total_steps"] for r in rows if r["kind"] == "eval"] == [2, 4, 6]
    from redo_lite.checkpoint import load

    assert load(run / "at4steps" / "best.pt")["step"] == 2
    for d in (run, run / "at4steps"):
        record = json.loads((d / "selftrained" / "self_train.json").read_text())
        assert record["steps"] == 2  # the budget's last two steps
        assert record["passes"] == 3  # the preset's colour-filter passes
    assert re.search(r"within 4 steps, ReDO alone \(reached at 2 steps, [\d.]+ min\)", out)
    assert re.search(r"within 8 steps, ReDO then 2 self-training steps \(reached at 6 steps", out)
    rec = json.loads((tmp_path / "st.json").read_text())
    seed = rec["seeds"][0]
    assert rec["self_train_steps"] == 2
    assert seed["within_8_steps_redo_alone"]["iou"] == pytest.approx(
        evaluate_run(run, tiny_c2mnist)["iou"], abs=1e-4
    )
    with pytest.raises(SystemExit):  # the phase must fit inside the early budget
        load_script("c2mnist_cpu").main([*args[:-1], "4"])
    assert "expected from 0 to below --at-steps (4)" in capsys.readouterr().err


def test_c2mnist_benchmark_stops_a_seed_at_its_mark(tiny_c2mnist, tmp_path, capsys):
    config = tmp_path / "tiny.json"
    tiny_config(eval_every=2).save(config)
    runs = tmp_path / "runs"
    args = ["--runs", str(runs), "--seeds", "1", "--data", str(tiny_c2mnist), "--jobs", "1"]
    args += ["--preset", str(config), "--minutes", "5", "--at", "0", "--stop-at", "-1"]
    # any validation IoU passes -1: the first evaluation after --at 0 ends the seed
    load_script("c2mnist_cpu").main(args)
    rows = [json.loads(r) for r in (runs / "seed1" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if r["kind"] == "eval"] == [2]


def test_edge_errors_counts_halo_lost_and_swapped_pixels():
    e = load_script("probes/edge_errors")
    gt = torch.zeros(1, 6, 6, dtype=torch.long)
    gt[0, 1:4, 1] = 1  # a vertical even stroke
    gt[0, 1, 2] = 1  # ... with a hook: (2, 2) is a corner pixel
    gt[0, 4:6, 4] = 2  # an odd stroke
    pred = (gt + 1) % 3  # other region labels, matched back by permutation
    pred[0, 2, 2] = pred[0, 1, 1]  # halo in the corner (2 digit neighbours)
    pred[0, 5, 4] = pred[0, 0, 0]  # an odd pixel lost to the background
    pred[0, 3, 1] = pred[0, 4, 4]  # an even pixel taken for the odd digit
    out = e.edge_errors(pred, gt, 3)
    assert (out["wrong"], out["halo"], out["lost"], out["swapped"]) == (3, 1, 1, 1)
    assert out["on_edge"] == 1.0
    assert out["halo_rate"][2][0] == 1 and sum(h for h, _ in out["halo_rate"].values()) == 1
    assert e.digit_neighbours(gt)[0, 2, 2] == 2


def test_shapes_benchmark_draws_its_own_one_object_data(tmp_path):
    from redo_lite.data import ImageFolderData

    bench = load_script("shapes_cpu")
    blobs = bench.build_drawn(tmp_path / "blobs", "blobs", bench.blob_sample, 7, 16, (6, 3, 3))
    polygons = bench.build_drawn(
        tmp_path / "poly", "polygons", bench.polygon_sample, 11, 32, (6, 3, 3)
    )
    for out, size in ((blobs, 16), (polygons, 32)):
        test = ImageFolderData(out, "test", size, 2, need_masks=True)
        x, gt = test.batch(torch.arange(len(test)))
        assert len(test) == 3 and x.shape == (3, 3, size, size)
        share = gt.float().mean((1, 2))  # one object, neither nothing nor everything
        assert ((share > 0.01) & (share < 0.9)).all()
        assert set(gt.unique().tolist()) == {0, 1}
    # the polygons' background is one hue: its pixels' colours lie near one line through black
    x, gt = ImageFolderData(polygons, "train", 32, 2, need_masks=True).batch(torch.arange(6))
    for img, m in zip((x + 1) / 2, gt, strict=True):
        bg = img[:, m == 0].T  # pixels, 3
        hue = bg.mean(0) / bg.mean(0).norm()
        off_line = (bg - (bg @ hue)[:, None] * hue).norm(dim=1)
        assert off_line.mean() < 0.1


def test_runs_table_names_runs_that_share_a_folder_name_by_their_parent(
    tiny_c2mnist, tmp_path, capsys
):
    for parent in ("a", "b"):
        run = tmp_path / parent / "seed0"
        Trainer(tiny_config(), tiny_c2mnist, run, seed=0, progress=False).fit(steps=2)
    load_script("probes/runs_table").main([str(tmp_path / p / "seed0") for p in ("a", "b")])
    names = [line.split("|")[1].strip() for line in capsys.readouterr().out.splitlines()[2:]]
    assert names == ["a/seed0", "b/seed0"]


def test_filter_passes_scores_F_and_a_centred_box_pass_by_pass(tmp_path, capsys):
    bench = load_script("shapes_cpu")
    data = bench.build_drawn(tmp_path / "poly", "polygons", bench.polygon_sample, 11, 16, (8, 6, 2))
    run = tmp_path / "run"
    Trainer(tiny_config(regions=2), data, run, progress=False).fit(steps=2)
    out = load_script("probes/filter_passes").main(
        ["--run", str(run), "--data", str(data), "--passes", "1", "4"]
    )
    assert set(out) == {"F", "centred box"} and all(set(r) == {0, 1, 4} for r in out.values())
    assert all(0 <= v <= 1 for r in out.values() for v in r.values())
    box = load_script("probes/filter_passes").centred_box(1, 2, 16)[0]
    assert box[1].sum() == 64 and torch.equal(box.sum(0), torch.ones(16, 16))
    assert "P=4" in capsys.readouterr().out


def test_benchmarks_readme_has_one_line_per_script_and_the_probes_live_apart():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "benchmarks"
    scripts = {
        p.relative_to(root).as_posix()
        for p in [*root.glob("*.py"), *root.glob("*.sh"), *(root / "probes").glob("*.py")]
    }
    rows = re.findall(r"^\| `([\w/]+\.(?:py|sh))` \|", (root / "README.md").read_text(), re.M)
    assert sorted(rows) == sorted(scripts)  # one row each, none for a script that is gone
    probes = {"critic_probe", "f_resolution", "filter_passes", "preprocessing", "edge_errors"}
    probes |= {"early_variants"}
    assert {p.stem for p in (root / "probes").glob("*.py")} == probes | {"runs_table"}


def test_shipped_writes_both_models_figures_with_their_commands(tmp_path, capsys):
    from data_prep.c2mnist import build

    data = tmp_path / "c2mnist32"
    build(data, size=32, seed=0, n_train=4, n_val=4, n_test=16)
    out = tmp_path / "shipped.json"
    assert load_script("shipped").main(["--data", str(data), "--json", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert set(figures["models"]) == {"c2mnist-cpu", "c2mnist-cpu-selftrained"}
    for name, m in figures["models"].items():
        assert m["command"].endswith(f"--run checkpoints/{name} --data data/c2mnist32")
        assert m["test"]["images"] == 16 and 0 <= m["test"]["iou"] <= 1
        assert m["wrong_pixels"]["wrong"] >= m["wrong_pixels"]["halo"] >= 0
    assert 0 <= figures["all_background"]["iou"] < 0.2
    printed = capsys.readouterr().out
    assert "checkpoints/c2mnist-cpu (ReDO alone): test IoU" in printed
    missing = load_script("shipped").main(["--data", str(tmp_path / "none")])
    assert missing == 1 and "no data set here" in capsys.readouterr().out


def test_early_variants_keep_networks_across_a_restart_slow_f_and_read_composites_and_colours(
    tiny_c2mnist, tmp_path, capsys
):
    probe = load_script("probes/early_variants")
    t = type("P", (probe.KeepingTrainer,), {"keep": "D"})(
        tiny_config(), tiny_c2mnist, tmp_path / "keep", progress=False
    )
    t.fit(steps=2)
    d_before = {k: v.clone() for k, v in t.nets["D"].state_dict().items()}
    f_before = {k: v.clone() for k, v in t.nets["F"].state_dict().items()}
    t.attempt += 1
    t._fresh()  # what a restart does
    d_after, f_after = t.nets["D"].state_dict(), t.nets["F"].state_dict()
    assert all(torch.equal(d_before[k], d_after[k]) for k in d_before)  # D kept
    assert not all(torch.equal(f_before[k], f_after[k]) for k in f_before)  # F rebuilt
    assert t.opts["D"].state  # and D's Adam moments with it
    t.close()
    rule = ["restart_min_area=0.5", "restart_after=1", "restart_patience=1", "eval_every=2"]
    summary = probe.main(
        ["--data", str(tiny_c2mnist), "--out", str(tmp_path / "run"), "--preset", "tiny"]
        + ["--steps", "6", "--delta-reads", "composite", "--keep", "DZ", "--d-histogram"]
        + [x for r in [*rule, "eval_images=20"] for x in ("--set", r)]
    )
    out = capsys.readouterr().out
    assert summary["restarts"] >= 1 and "6 steps" in out and "composite image" in out
    assert "colour histogram" in out
    slow = type("P", (probe.KeepingTrainer,), {"slow_f": (1e-6, 3)})(
        tiny_config(), tiny_c2mnist, tmp_path / "slow", progress=False
    )
    slow.fit(steps=5)
    after = slow.opts["F"].param_groups[0]["lr"]  # past step 3: the preset's rate
    slow.step = 0  # step 0 of an attempt, as after a restart: the slow rate again
    slow._f_rate()
    assert [after, slow.opts["F"].param_groups[0]["lr"]] == [tiny_config().lr_f, 1e-6]
    slow.close()
    critic = probe.HistogramCritic(torch.nn.Identity())
    flat = torch.full((1, 3, 4, 4), -1.0)  # every pixel black: all of each channel in bin 0
    h = critic.histogram(flat).view(3, -1)
    assert torch.allclose(h.sum(1), torch.ones(3)) and (h[:, 0] > 0.8).all()
    with pytest.raises(SystemExit):
        probe.main(["--data", str(tiny_c2mnist), "--out", str(tmp_path / "x"), "--keep", "F"])
