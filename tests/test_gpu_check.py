"""benchmarks/gpu_check.sh, shrunk to CPU sizes: every part runs and prints what it promises."""

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_check_runs_shrunk_on_a_cpu(tmp_path):
    env = {
        **os.environ,
        "STEP_PRESET": "c2mnist-cpu",
        "BATCH": "4",
        "STEP_MODES": "fp32 amp",
        "STEPS": "2",
        "TRAIN_PRESET": "c2mnist-cpu",
        "SIZE": "16",
        "TRAIN_MINUTES": "0.1",
        "N_TRAIN": "32",
        "OUT": str(tmp_path / "out"),
        "DATA": str(tmp_path / "data"),
        "TRAIN_SET": "--set eval_images=16 --threads 1",
        "OMP_NUM_THREADS": "1",
    }
    r = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,  # a bound against a hang, far above its minutes on a busy machine
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = r.stdout
    assert "no GPU: cpu" in out
    assert '"mode": "fp32"' in out and '"mode": "amp"' in out and "ms_per_step" in out
    assert "validation IoU" in out and "test:" in out
    assert "two processes: skipped (0 GPU)" in out
    assert (tmp_path / "out" / "log.txt").read_text().count("== ") == 5
