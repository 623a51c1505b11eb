"""The notebooks, executed as a learner would: every solution in fast mode (papermill, then nbval),
every learner copy up to its first unimplemented exercise, and the copies current."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("course_data")]

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
LEARNER = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
FAST_ENV = {"REDO_FAST": "1", "OMP_NUM_THREADS": "1", "REDO_RUN": "runs/ci-notebook08"}


@pytest.fixture(autouse=True)
def fast_mode(monkeypatch, tmp_path):
    for k, v in FAST_ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("REDO_RUN", str(tmp_path / "nb08-run"))
    monkeypatch.setenv("REDO_FLOWERS_RUN", str(tmp_path / "nb10-run"))
    monkeypatch.setenv("REDO_SHAPES_RUN", str(tmp_path / "nb11-shapes-run"))
    monkeypatch.setenv("MPLBACKEND", "agg")


def outputs(nb) -> list[str]:
    return [
        line
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
        for line in o.get("text", "").splitlines()
    ]


def test_there_is_a_learner_copy_of_every_solution():
    assert [p.name for p in SOLUTIONS] == [p.name for p in LEARNER] and len(SOLUTIONS) >= 10


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_runs_and_every_check_passes(path, tmp_path):
    out = pm.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
    )
    lines = outputs(out)
    checks = [line for line in lines if line.startswith("CHECK ")]
    n_exercises = sum("### BEGIN SOLUTION" in c.source for c in out.cells if c.cell_type == "code")
    assert not [c for c in checks if not c.startswith("CHECK PASS")], checks
    assert len(checks) >= max(1, n_exercises - 1), f"too few check cells ran: {checks}"
    results = [json.loads(ln[len("RESULT ") :]) for ln in lines if ln.startswith("RESULT ")]
    if path.stem.startswith("08"):
        (r,) = results
        assert r["iou"] > r["trivial_iou"], r  # the fast training run beats all-background
    if path.stem.startswith("11"):
        (r,) = results
        assert [row["k"] for row in r["supervised"]] == [1, 4]
        assert r["baselines"]["k-means on colour"] > 0.9  # flat colours: k-means is near perfect
        assert all(0 <= v <= 1 for v in r["baselines"].values())
    if path.stem.startswith(("09", "10")):
        (r,) = results
        assert 0 < r["iou"] <= 1


@pytest.mark.parametrize("path", LEARNER, ids=lambda p: p.stem)
def test_learner_copy_stops_at_its_first_exercise(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    stub = next(
        (i for i, c in enumerate(nb.cells) if 'raise NotImplementedError("exercise:' in c.source),
        None,
    )
    if stub is None:  # no exercise: it must simply run
        pm.execute_notebook(
            str(path),
            str(tmp_path / path.name),
            kernel_name="python3",
            cwd=str(path.parent),
            progress_bar=False,
        )
        return
    first_use = next(i for i, c in enumerate(nb.cells) if i > stub and c.cell_type == "code")
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(
            str(path),
            str(tmp_path / path.name),
            kernel_name="python3",
            cwd=str(path.parent),
            progress_bar=False,
        )
    assert err.value.ename == "NotImplementedError", err.value.evalue
    assert err.value.cell_index == first_use, (err.value.cell_index, first_use)
    ran = nbformat.read(tmp_path / path.name, as_version=4)
    assert any(line.startswith("CHECK TODO") for line in outputs(ran))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_nbval_reruns_the_solution(path, tmp_path):
    """nbval, the plugin a learner can run on their own copy (``pytest --nbval-lax``), runs every
    solution too: one notebook a test, so that the workers share them out."""
    env = {
        **os.environ,
        **FAST_ENV,
        "REDO_RUN": str(tmp_path / "nb08-run"),
        "MPLBACKEND": "agg",
        "REDO_FLOWERS_RUN": str(tmp_path / "nb10-run"),
        "REDO_SHAPES_RUN": str(tmp_path / "nb11-shapes-run"),
    }
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            "0",  # one notebook's cells in one kernel, in order
            "--nbval-lax",
            "--nbval-current-env",
            "--nbval-cell-timeout",
            "3600",  # a bound against a hang: a cell's minutes grow on a busy machine
            str(path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
    )
    assert r.returncode == 0, r.stdout[-3000:]


def test_a_wrong_learner_function_stops_the_first_cell_that_uses_it(tmp_path):
    """Notebook 02 with a deliberately wrong `compose` put in after the solution: its check prints
    CHECK FAIL, and the first later cell that calls compose stops with CheckFailedEarlier, so no
    figure or number is made from it; no cell after that one runs."""
    src = ROOT / "solutions" / "02_generative_process.ipynb"
    nb = nbformat.read(src, as_version=4)
    solution = next(
        i for i, c in enumerate(nb.cells) if c.source.startswith("def compose(masks, layers):")
    )
    wrong = "def compose(masks, layers):\n    return (masks[:, :, None] * layers).mean(1)  # wrong"
    nb.cells.insert(solution + 1, nbformat.v4.new_code_cell(wrong))
    path = tmp_path / src.name
    nbformat.write(nb, path)
    with pytest.raises(pm.PapermillExecutionError, match="STOPPED: compose did not pass its check"):
        pm.execute_notebook(
            str(path), str(path), kernel_name="python3", cwd=str(src.parent), progress_bar=False
        )
    out = nbformat.read(path, as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]
    check = next(i for i, c in enumerate(code) if 'check_exercise("compose"' in c.source)
    first_use = next(i for i, c in enumerate(code) if i > check and "compose(" in c.source)
    printed = "".join(o.get("text", "") for o in code[check].outputs)
    assert "CHECK FAIL: compose" in printed and "likely cause" in printed
    errors = [i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)]
    assert errors == [first_use], errors
    (err,) = [o for o in code[first_use].outputs if o.output_type == "error"]
    assert err.ename == "CheckFailedEarlier" and "compose did not pass its check" in err.evalue
    assert all(c.execution_count is None for c in code[first_use + 1 :])
