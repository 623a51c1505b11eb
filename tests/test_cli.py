import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, check=True):
    r = subprocess.run(
        [sys.executable, "-m", "redo_lite", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"},
    )
    if check and r.returncode:
        raise AssertionError(f"exit {r.returncode}\n{r.stdout}\n{r.stderr}")
    return r


@pytest.fixture(scope="module")
def trained(tiny_c2mnist, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "r"
    cli(
        "train",
        "--data",
        tiny_c2mnist,
        "--out",
        run,
        "--size",
        "16",
        "--regions",
        "3",
        "--steps",
        "3",
        "--threads",
        "1",
    )
    return run


def test_train_writes_a_run_and_resumes(trained, tiny_c2mnist):
    assert {"config.json", "last.pt", "best.pt", "metrics.jsonl"} <= {
        p.name for p in trained.iterdir()
    }
    rows = [json.loads(r) for r in (trained / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["kind"] == "test" and rows[-1]["images"] == 8  # the final test-split score
    r = cli("train", "--data", tiny_c2mnist, "--out", trained, "--steps", "4", "--threads", "1")
    out = json.loads(r.stdout.splitlines()[-1])
    assert "resuming" in r.stderr and out["step"] == 4 and 0 <= out["test"]["iou"] <= 1


def test_evaluate_prints_json(trained, tiny_c2mnist):
    out = json.loads(
        cli("evaluate", "--run", trained, "--data", tiny_c2mnist, "--split", "test").stdout
    )
    assert out["split"] == "test" and out["images"] == 8
    assert 0 <= out["acc"] <= 1 and 0 <= out["iou"] <= 1 and len(out["areas"]) == 3


def test_segment_writes_label_maps_at_each_input_size(trained, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)).save(
        src / "a.png"
    )
    Image.fromarray(np.zeros((9, 7), np.uint8), "L").save(src / "b.jpg")
    cli("segment", "--run", trained, "--images", src, "--out", tmp_path / "out")
    a, b = (Image.open(tmp_path / "out" / f"{s}.png") for s in "ab")
    assert a.size == (30, 20) and b.size == (7, 9) and a.mode == "L"
    assert np.asarray(a).max() < 3


def test_describe_prints_parameter_counts():
    out = json.loads(cli("describe", "--preset", "c2mnist-cpu").stdout)
    assert set(out["parameters"]) == {"F", "G", "D", "Z"} and out["regions"] == 3


def test_bad_inputs_fail_with_the_file_named(trained, tiny_c2mnist, tmp_path):
    r = cli(
        "train", "--data", tiny_c2mnist, "--out", trained, "--preset", "c2mnist-cpu", check=False
    )
    assert r.returncode and "config.json" in r.stderr and "c2mnist-cpu" in r.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_text("not an image")
    r = cli("segment", "--run", trained, "--images", bad, "--out", tmp_path / "o", check=False)
    assert r.returncode and "x.png" in r.stderr and not (tmp_path / "o").exists()
    r = cli("evaluate", "--run", tmp_path, "--data", tiny_c2mnist, check=False)
    assert r.returncode and "config.json" in r.stderr


def test_a_checkpoint_from_another_preset_is_refused(trained, tiny_c2mnist, tmp_path):
    import shutil

    other = tmp_path / "other"
    shutil.copytree(trained, other)
    cfg = json.loads((other / "config.json").read_text())
    cfg.update(preset="c2mnist-cpu", size=32)
    (other / "config.json").write_text(json.dumps(cfg))
    r = cli("evaluate", "--run", other, "--data", tiny_c2mnist, check=False)
    assert r.returncode and "best.pt" in r.stderr and "preset" in r.stderr


def test_set_overrides_a_setting_and_is_saved(tiny_c2mnist, tmp_path):
    run = tmp_path / "r"
    cli(
        "train",
        "--data",
        tiny_c2mnist,
        "--out",
        run,
        "--size",
        "16",
        "--regions",
        "3",
        "--steps",
        "1",
        "--set",
        "lambda_z=0",
        "--set",
        "batch=4",
        "--threads",
        "1",
    )
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["lambda_z"] == 0 and cfg["batch"] == 4
    r = cli("train", "--data", tiny_c2mnist, "--out", run, "--set", "nonsense=1", check=False)
    assert r.returncode and "nonsense" in r.stderr


def test_without_a_preset_one_object_and_several_regions_get_their_own_recipes():
    from redo_lite.config import PRESETS, cpu_defaults

    one = cpu_defaults(32, 2)
    shapes = PRESETS["shapes-cpu"]
    assert (one.f_downs, one.f_channels, one.g_channels, one.d_channels) == (
        shapes.f_downs,
        shapes.f_channels,
        shapes.g_channels,
        shapes.d_channels,
    )
    assert one.lambda_z == 40 and one.lr_d == 2 * one.lr_g and one.amp
    assert one.self_train_steps > 0 and one.self_train_passes > 1
    many = cpu_defaults(64, 4)
    c2 = PRESETS["c2mnist-cpu"]
    assert (many.size, many.regions, many.preset) == (64, 4, "cpu-64px-4r")
    assert many.f_downs == c2.f_downs and many.self_train_passes == c2.self_train_passes > 1
