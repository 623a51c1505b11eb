"""The notebooks' helpers that choose what to show: the learner's run or the shipped model, and
what the benchmark recorded."""

import json
from pathlib import Path

import pytest
import torch

from course import benchmark_note, benchmark_pace, pace_note, pick_run, run_failure

ROOT = Path(__file__).resolve().parents[1]


def test_pick_run_prefers_the_learners_best_then_last_then_the_shipped(tmp_path):
    run = tmp_path / "mine"
    path, why = pick_run(run, shipped="ship")
    assert path == "ship" and "holds no trained model" in why and str(run) in why
    run.mkdir()
    torch.save({"nets": {}, "step": 3}, run / "last.pt")
    path, why = pick_run(run, shipped="ship")
    assert path == str(run) and "last.pt" in why and "no best.pt" in why
    torch.save({"nets": {}, "step": 250, "attempt": 1}, run / "best.pt")
    path, why = pick_run(run, shipped="ship")
    assert path == str(run) and "best.pt" in why and "step 250 of attempt 1" in why
    assert "self-trained" not in why
    state = {"nets": {}, "step": 250, "attempt": 1, "F_source": "self-trained (live F)"}
    torch.save(state, run / "best.pt")
    assert "step 250 of attempt 1, then self-trained" in pick_run(run, shipped="ship")[1]
    path, why = pick_run(None, shipped="ship")
    assert path == "ship" and "shipped" in why and "USE_SHIPPED" in why
    path, why = pick_run("", shipped="ship")  # REDO_RUN="": no folder, not "."
    assert path == "ship" and "no run folder given" in why and ". holds" not in why


def test_pick_run_warns_when_the_run_barely_trained(tmp_path):
    ship, run = tmp_path / "ship", tmp_path / "mine"
    ship.mkdir(), run.mkdir()
    torch.save({"nets": {}, "metrics": {"iou": 0.9}}, ship / "best.pt")
    torch.save({"nets": {}, "step": 3}, run / "last.pt")
    path, why = pick_run(run, shipped=ship)
    assert path == str(run) and "barely trained" in why and "USE_SHIPPED = True" in why
    torch.save({"nets": {}, "step": 20, "metrics": {"iou": 0.085}}, run / "best.pt")
    path, why = pick_run(run, shipped=ship)
    assert path == str(run) and "barely trained" in why and "0.085" in why and "0.900" in why
    torch.save({"nets": {}, "step": 900, "metrics": {"iou": 0.8}}, run / "best.pt")
    path, why = pick_run(run, shipped=ship)
    assert "barely" not in why and "WARNING" not in why


def test_pick_run_says_plainly_that_a_collapsed_run_failed(tmp_path):
    # issue 25's run: region 0 won no pixel, the odd digit stayed in the background (IoU 0.03);
    # its IoU (0.467) is above half the shipped model's, so only the collapse check can tell
    ship, run = tmp_path / "ship", tmp_path / "mine"
    ship.mkdir(), run.mkdir()
    torch.save({"nets": {}, "metrics": {"iou": 0.902}}, ship / "best.pt")
    (run / "config.json").write_text(json.dumps({"restart_min_area": 0.01}))
    metrics = {"iou": 0.467, "areas": [0.0, 0.04, 0.96], "iou_split_regions": [0.97, 0.9, 0.03]}
    torch.save({"nets": {}, "step": 300, "attempt": 0, "metrics": metrics}, run / "best.pt")
    failed = run_failure(run, shipped=ship)
    assert failed.startswith("collapsed:") and "(region 0)" in failed
    assert "no region covers the odd digit: IoU 0.030" in failed
    path, why = pick_run(run, shipped=ship)
    assert path == str(run) and "WARNING: this run FAILED (collapsed" in why
    assert "another SEED" in why and "USE_SHIPPED = True" in why and str(ship) in why
    metrics.update(areas=[0.9, 0.05, 0.05], iou_split_regions=[0.99, 0.9, 0.88], iou=0.89)
    torch.save({"nets": {}, "step": 900, "attempt": 0, "metrics": metrics}, run / "best.pt")
    assert run_failure(run, shipped=ship) is None and "WARNING" not in pick_run(run, ship)[1]


def test_pace_note_tells_the_time_here_and_on_the_benchmark(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    seeds = [{"seed": 0, "ms_per_step": 450}, {"seed": 1, "ms_per_step": 600}]
    rec = {"preset": "c2mnist-cpu", "settings": [], "machine": "2 CPU cores", "jobs": 2}
    (results / "a.json").write_text(json.dumps({**rec, "threads": 1, "seeds": seeds}))
    other = {**rec, "settings": ["lr_f=1"], "seeds": [{"ms_per_step": 1}]}  # another recipe
    (results / "b.json").write_text(json.dumps(other))
    (results / "c.json").write_text("{ not json")
    ref = benchmark_pace("c2mnist-cpu", results)
    assert (ref["low"], ref["high"], ref["seeds"]) == (450, 600, 2)
    assert ref["file"].endswith("a.json")
    note = pace_note(20, 36.0, 1600, folder=results)  # 1.8 s a step, a third of a core
    assert "1800 ms a step over the first 20 steps; 1600 steps will take about 48 minutes" in note
    assert "450-600 ms a step over 2 seeds" in note and "about 12-16 minutes" in note
    assert "3.0x slower" in note
    assert "slower" not in pace_note(20, 10.0, 1600, folder=results).splitlines()[-1]
    assert "no benchmark of c2mnist-cpu" in pace_note(20, 10.0, 1600, folder=tmp_path)


def test_benchmark_note_without_a_file_or_with_a_bad_one(tmp_path):
    note = benchmark_note(tmp_path / "none.json")
    assert note.startswith("no benchmark recorded yet")
    assert all((ROOT / doc).exists() for doc in ("docs/results.md", "docs/log/cpu-preset.md"))
    assert "docs/results.md" in note and "docs/log/cpu-preset.md" in note  # where the figures are
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    assert "unreadable" in benchmark_note(bad)


def test_benchmark_note_reads_the_seed_it_is_asked_for(tmp_path):
    path = tmp_path / "b.json"
    seeds = [
        {"seed": 0, "test": {"iou": 0.5, "acc": 0.9}, "restarts": 1, "run": "x"},
        {"seed": 1, "test": {"iou": 0.7}},
    ]
    path.write_text(json.dumps({"command": "python bench.py", "seeds": seeds}))
    note = benchmark_note(path, seed=1)
    assert "python bench.py" in note and "test / iou: 0.700" in note and "0.500" not in note
    note = benchmark_note(path, seed=0)
    assert "test / iou: 0.500" in note and "restarts: 1" in note
    assert "not among the seeds recorded ([0, 1])" in benchmark_note(path, seed=7)


def test_plot_areas_draws_each_region_its_restarts_and_the_rule(tmp_path):
    import matplotlib

    matplotlib.use("agg")
    from course import plot_areas
    from redo_lite.config import get_preset

    rule = ["restart_after=500", "restart_before=3000"]  # the window this test draws
    get_preset("c2mnist-cpu").override(rule).save(tmp_path / "config.json")
    rows = [
        {
            "kind": "eval",
            "attempt": 0,
            "step": 250,
            "total_steps": 250,
            "areas": [0.9, 0.1, 0.0],
            "soft_areas": [0.8, 0.1, 0.1],
        },
        {"kind": "restart", "attempt": 0, "step": 500, "total_steps": 500, "reason": "x"},
        {
            "kind": "eval",
            "attempt": 1,
            "step": 250,
            "total_steps": 750,
            "areas": [0.9, 0.05, 0.05],
            "soft_areas": [0.8, 0.1, 0.1],
        },
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ax = plot_areas(tmp_path)
    labels = [line.get_label() for line in ax.get_lines()]
    assert [lab for lab in labels if lab.startswith("region")] == [
        f"region {k}: {what}" for k in range(3) for what in ("pixels won", "soft mask")
    ]
    assert "restart threshold" in labels
    assert [line.get_xdata()[0] for line in ax.get_lines() if line.get_color() == "crimson"] == [
        500
    ]
    # the rule's window (steps 500-3000 of each attempt) only where the run reached it: attempt 0
    # from 500 to the last step 750; attempt 1's starts at 500 + 500, past the end, so none
    assert len(ax.patches) == 1
    assert "shaded" in ax.get_xlabel()
    assert ax.get_xlim()[1] < 800  # a short run is not squashed by the window's far end
    spans = [p.get_x() + p.get_width() for p in ax.patches]
    assert max(spans) <= 750  # shaded only up to the run's last step
    rows[0]["total_steps"] = rows[2]["total_steps"] = 20  # too short to reach the window
    (tmp_path / "metrics.jsonl").write_text(json.dumps(rows[0]) + "\n")
    ax = plot_areas(tmp_path)
    assert not ax.patches and "from step 500" in ax.get_xlabel() and ax.get_xlim()[1] < 25


def test_show_row_draws_each_kind_of_panel():
    import matplotlib

    matplotlib.use("agg")
    from course import show_row

    image = torch.rand(3, 8, 8) * 2 - 1
    labels = torch.randint(0, 3, (8, 8))
    panels = [image, labels, labels == 1, torch.rand(8, 8)]
    fig = show_row(panels, ["a", "b", "c", "d"], "t", legend=["x", "y", "z"], show=False)
    assert [a.get_title() for a in fig.axes[:4]] == ["a", "b", "c\n(white: yes)", "d"]
    assert fig.axes[2].axison and not fig.axes[0].axison  # the true/false map keeps a frame
    assert len(fig.axes) == 5  # the float map has its colour bar
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["x", "y", "z"]


def test_a_nearly_flat_map_gets_no_offset_label_over_its_title():
    """A map whose values differ only far after the decimal point (a b = 1 context map) must not
    get matplotlib's "+1.2345" offset text above its colour bar, where it covers the title."""
    import matplotlib

    matplotlib.use("agg")
    from course import show_row

    flat = 0.4321 + 1e-7 * torch.rand(8, 8)
    fig = show_row([flat], ["b = 1"], show=False)
    fig.canvas.draw()
    bar = fig.axes[1]
    assert bar.yaxis.get_offset_text().get_text() == ""


def test_min_range_draws_a_flat_map_in_one_colour_and_leaves_the_others_alone():
    import matplotlib

    matplotlib.use("agg")
    from course import show_row

    flat, ramp = 0.15 + 1e-7 * torch.rand(8, 8), torch.linspace(0, 1, 64).reshape(8, 8)
    fig = show_row([flat, ramp], ["b = 1", "b = 2"], min_range=0.2, show=False)
    lo, hi = fig.axes[0].images[0].get_clim()
    assert abs(hi - lo - 0.2) < 1e-6 and lo < 0.15 < hi  # centred on the flat value
    colours = fig.axes[0].images[0].to_rgba(flat.numpy())
    assert (abs(colours - colours[0, 0]) < 0.01).all()  # one colour (to a colour-map step)
    assert fig.axes[1].images[0].get_clim() == (0.0, 1.0)  # a map wider than 0.2 keeps its own


def test_show_redraw_grid_names_its_columns():
    import matplotlib

    matplotlib.use("agg")
    from course import show_redraw_grid
    from course.cases import tiny_config
    from redo_lite.nets import build_nets

    nets = build_nets(tiny_config())
    x, gt = torch.rand(2, 3, 16, 16) * 2 - 1, torch.randint(0, 3, (2, 16, 16))
    fig = show_redraw_grid(nets, x, gt, n_z=2, title="t")
    heads = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert heads == [
        "input",
        "truth",
        "F's regions",
        "region 0, 2 z",
        "region 1, 2 z",
        "region 2, 2 z",
    ]


def test_grid_figure_titles_rows_columns_and_label_colours():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from redo_lite.viz import colorize, grid_figure

    labels = torch.randint(0, 3, (4, 8, 8))
    fig = grid_figure(
        [colorize(labels), colorize(labels.flip(1))],
        ["truth", "flipped"],
        [f"image {i}" for i in range(4)],
        names=["background", "even digit", "odd digit"],
        title="two rows",
    )
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["truth", "flipped"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [f"image {i}" for i in range(4)]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "background",
        "even digit",
        "odd digit",
    ]
    assert ax.get_title() == "two rows"
    plt.close(fig)


def test_ensure_c2mnist_leaves_a_first_release_copy_alone_and_says_what_to_do(tmp_path):
    from course import ensure_c2mnist

    old = tmp_path / "c2mnist32"
    (old / "images").mkdir(parents=True)
    (old / "images" / "x.png").write_bytes(b"the learner's file")
    (old / "info.json").write_text('{"name": "colored-2-MNIST", "size": 32}')
    with pytest.raises(RuntimeError, match=r"info.json: built by the course's first release.*move"):
        ensure_c2mnist(str(old))
    assert (old / "images" / "x.png").read_bytes() == b"the learner's file"


@pytest.mark.parametrize(
    "info,says",
    [
        ('{"name": "textured-shapes", "size": 32}', "holds another data set ('textured-shapes'"),
        ('{"name": "colored-2-MNIST", "size": 64, "digit_min_cover": 0.25}', "at 64 px, not 32"),
        ("[1, 2]", "holds another data set (None"),
    ],
)
def test_ensure_c2mnist_tells_one_data_set_from_another_before_advising(tmp_path, info, says):
    """Another data set (or colored-2-MNIST of another size) is named as what it is, never called
    a first-release copy, and nothing advises deleting it; nothing in it is touched."""
    from course import ensure_c2mnist

    other = tmp_path / "c2mnist32"
    (other / "images").mkdir(parents=True)
    (other / "images" / "x.png").write_bytes(b"the learner's file")
    (other / "info.json").write_text(info)
    with pytest.raises(RuntimeError) as e:
        ensure_c2mnist(str(other))
    message = str(e.value)
    assert says in message and "first release" not in message and "delete" not in message
    assert "another path" in message
    assert (other / "images" / "x.png").read_bytes() == b"the learner's file"
