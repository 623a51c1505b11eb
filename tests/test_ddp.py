"""Several processes (torchrun, DistributedDataParallel): 2 CPU processes on the gloo backend give
the loss curve of 1 process with the same global batch."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ARGS = [
    "--preset",
    "tiny",
    "--steps",
    "4",
    "--threads",
    "1",
    # a global batch of 8: 4 a process on two processes
    "--set",
    "batch=8",
    "--set",
    "log_every=1",
    "--set",
    "eval_every=4",
]


def losses(run):
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [
        (r["step"], r["loss_g"], r["loss_z"], r["loss_d"]) for r in rows if r["kind"] == "train"
    ]


def test_two_gloo_processes_match_one_process_with_the_same_global_batch(tiny_c2mnist, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
    }
    one, two = tmp_path / "one", tmp_path / "two"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "redo_lite",
            "train",
            "--data",
            str(tiny_c2mnist),
            "--out",
            str(one),
            *ARGS,
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "redo_lite",
            "train",
            "--data",
            str(tiny_c2mnist),
            "--out",
            str(two),
            *ARGS,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = losses(one), losses(two)
    assert len(a) == len(b) == 4
    for ra, rb in zip(a, b, strict=True):
        assert ra[0] == rb[0]
        for x, y in zip(ra[1:], rb[1:], strict=True):
            assert abs(x - y) <= 1e-4 * max(1.0, abs(x)), (ra, rb)
