"""The notebooks' helpers that choose what to show: the learner's run or the shipped model, and
what the benchmark recorded."""

import json

import torch

from redo_lite.course import benchmark_note, pick_run


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
    path, why = pick_run(None, shipped="ship")
    assert path == "ship" and "shipped" in why


def test_benchmark_note_without_a_file_or_with_a_bad_one(tmp_path):
    assert benchmark_note(tmp_path / "none.json").startswith("no benchmark recorded yet")
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
