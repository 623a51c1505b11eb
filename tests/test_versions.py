"""A torch/torchvision pair that does not import is named in one line with its fix (the CLI, the
demo, notebook 00, the README's check), and the test set-up keeps a working CPU build of torch."""

import re
import subprocess
import sys
from pathlib import Path

from conftest import load_script

from redo_lite import versions
from redo_lite.files import one_line

ROOT = Path(__file__).resolve().parents[1]
ci = load_script("tools/ci_constraints.py")


def torchvision_failure() -> RuntimeError:
    """The error a CUDA torchvision raises beside a CPU torch, raised from a torchvision module."""
    code = compile(
        'raise RuntimeError("operator torchvision::nms does not exist")',
        "/venv/site-packages/torchvision/_meta_registrations.py",
        "exec",
    )
    try:
        exec(code, {})
    except RuntimeError as e:
        return e
    raise AssertionError("not raised")


def test_the_pair_rule_and_the_fix_come_from_torchs_own_version():
    assert versions.pair_of("2.14.1+cpu") == "0.29.1" and versions.pair_of("2.5.0") == "0.20.0"
    assert versions.fix_line("2.13.0+cpu") == (
        "python3 -m pip install --force-reinstall --no-deps torchvision==0.28.0 "
        "--index-url https://download.pytorch.org/whl/cpu"
    )
    assert versions.fix_line("2.14.1").endswith("torchvision==0.29.1")  # PyPI: no index
    assert "whl/cu126" in versions.fix_line("2.9.1+cu126")


def test_the_cli_names_a_broken_pair_in_one_line_with_its_fix():
    err = torchvision_failure()
    assert versions.is_pair_failure(err)
    line = one_line(err)
    assert "\n" not in line and "unexpected" not in line and "report it" not in line
    assert "torchvision::nms does not exist" in line
    assert re.search(r"fix: python3 -m pip install .*torchvision", line)
    assert not versions.is_pair_failure(RuntimeError("CUDA out of memory"))
    assert "unexpected" in one_line(ZeroDivisionError("x"))


def test_the_check_after_installing_passes_on_a_working_pair():
    res = subprocess.run(
        [sys.executable, "-m", "redo_lite.versions"], cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert "work together" in res.stdout and "torchvision" in res.stdout


def test_the_test_setup_keeps_a_working_cpu_torch_and_only_that():
    text = (ROOT / "constraints-ci.txt").read_text()
    pins = dict(re.findall(r"^(torch|torchvision)==(\S+)", text, re.M))
    kept, note = ci.constraints(text, "2.13.0+cpu", "0.28.0+cpu", works=True)
    assert "torch==2.13.0+cpu\n" in kept and "torchvision==0.28.0+cpu\n" in kept
    assert "keeps the CPU build" in note
    assert (
        kept.replace("torch==2.13.0+cpu", f"torch=={pins['torch']}").replace(
            "torchvision==0.28.0+cpu", f"torchvision=={pins['torchvision']}"
        )
        == text
    )  # nothing else changes
    same, note = ci.constraints(text, "2.13.0+cpu", "0.28.0", works=False)
    assert same == text and "not a working pair" in note and "6 GB" in note
    assert ci.constraints(text, "2.14.1+cu130", "0.29.1+cu130", works=True) == (text, "")
    assert ci.constraints(text, None, None, works=False) == (text, "")


def test_the_readme_installs_the_cpu_pair_ci_tests_and_checks_it():
    readme = (ROOT / "README.md").read_text()
    text = (ROOT / "constraints-ci.txt").read_text()
    pins = dict(re.findall(r"^(torch|torchvision)==(\S+)", text, re.M))
    line = next(x for x in readme.splitlines() if "download.pytorch.org/whl/cpu" in x)
    assert (
        f"torch=={pins['torch']}+cpu" in line and f"torchvision=={pins['torchvision']}+cpu" in line
    )
    setup = readme.split("## Set up", 1)[1]
    assert "python3 -m redo_lite.versions" in setup and "--allow-root" in setup
