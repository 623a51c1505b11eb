"""Stops and restarts: a training process killed with SIGKILL (between and during checkpoint
writes) and started again ends exactly where an uninterrupted run ends."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from redo_lite import checkpoint as ckpt

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--preset",
    "tiny",
    "--threads",
    "1",
    "--steps",
    "40",
    "--set",
    "eval_every=2",
    "--set",
    "log_every=1",
]


def train_cmd(data, out):
    return [
        sys.executable,
        "-m",
        "redo_lite",
        "train",
        "--data",
        str(data),
        "--out",
        str(out),
        *TINY,
    ]


def env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def rows(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def logged(run) -> int:
    """Complete rows in the run's log (a row being written has no newline yet)."""
    path = run / "metrics.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def wait_for(condition, what: str, bound: float = 600.0, poll: float = 0.05) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``bound`` seconds, a bound
    far above the few seconds it takes on an idle machine."""
    deadline = time.monotonic() + bound
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {bound:.0f} s for {what}")
        time.sleep(poll)


@pytest.mark.slow
def test_sigkill_and_restart_end_where_an_uninterrupted_run_ends(tiny_c2mnist, tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    subprocess.run(
        train_cmd(tiny_c2mnist, whole), check=True, env=env(), capture_output=True, cwd=ROOT
    )
    rnd, kills, steps_at_restart = random.Random(0), 0, []
    while kills < 6:
        proc = subprocess.Popen(
            train_cmd(tiny_c2mnist, killed),
            env=env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # wait until it has trained past the last restart and its first last.pt exists (a
        # condition, with a generous bound for a loaded machine), then kill it at a random
        # moment: checkpoints are written every 2 steps, so many kills land in or next to a write
        before = steps_at_restart[-1] if steps_at_restart else 0

        def trained(proc=proc, before=before):
            done = proc.poll() is not None
            return done or ((killed / "last.pt").exists() and logged(killed) > before)

        wait_for(trained, f"run {kills}: a new log row and last.pt")
        time.sleep(rnd.uniform(0.0, 0.6))  # the kill's moment, drawn: not a wait for anything
        if proc.poll() is not None:  # finished before we could kill it
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        state = ckpt.load(killed / "last.pt")  # always a complete checkpoint
        steps_at_restart.append(logged(killed))
        assert state["step"] <= 40
    assert kills >= 3
    subprocess.run(
        train_cmd(tiny_c2mnist, killed), check=True, env=env(), capture_output=True, cwd=ROOT
    )
    a, b = ckpt.load(whole / "last.pt"), ckpt.load(killed / "last.pt")
    assert a["step"] == b["step"] == 40
    from test_train import states_equal

    assert states_equal(a["nets"], b["nets"]) and states_equal(
        a["opts"], b["opts"]
    )  # weights, optimiser
    assert a["best"] == b["best"] and torch.equal(a["rng"], b["rng"])  # best score, RNG
    ra, rb = rows(whole), rows(killed)

    def key(r):
        return r["kind"], r["attempt"], r["step"]

    assert [key(r) for r in ra] == [key(r) for r in rb]  # no duplicated or lost rows
    assert not list(killed.glob("*.tmp"))


def test_a_crash_mid_write_leaves_the_last_complete_checkpoint(tiny_c2mnist, tmp_path):
    from conftest import tiny_config

    from redo_lite.train import Trainer

    t = Trainer(tiny_config(), tiny_c2mnist, tmp_path / "run", progress=False)
    t.fit(steps=3)
    (tmp_path / "run" / "last.pt.tmp").write_bytes(
        b"half a checkpoi"
    )  # what a kill mid-save leaves
    with open(tmp_path / "run" / "metrics.jsonl", "a") as f:
        f.write('{"kind": "train", "step": 4, "trunc')  # and a half-written row
    again = Trainer(tiny_config(), tiny_c2mnist, tmp_path / "run", progress=False)
    assert again.step == 3 and not (tmp_path / "run" / "last.pt.tmp").exists()
    log = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert all(json.loads(line) for line in log)


def test_a_pickled_payload_is_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo owned > " + str(tmp_path / "owned"),))

    torch.save({"nets": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ckpt.CheckpointError, match=r"evil.pt: cannot load this checkpoint safely"):
        ckpt.load(tmp_path / "evil.pt")
    assert not (tmp_path / "owned").exists()
