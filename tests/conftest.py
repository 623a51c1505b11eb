import importlib.util
from pathlib import Path

import pytest
import torch

from redo_lite.config import Config, get_preset

torch.set_num_threads(1)


def tiny_config(**kw) -> Config:
    """The ``tiny`` preset (16 px, 3 regions), with any setting changed by keyword."""
    return Config.from_dict({**get_preset("tiny").to_dict(), **kw})


def load_script(relpath: str):
    """Import a script outside the packages (benchmarks/, tools/) by its path from the root."""
    path = Path(__file__).resolve().parents[1] / relpath
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def tiny_c2mnist(tmp_path_factory):
    """A 16 px colored-2-MNIST folder in the on-disk format (built once per test session)."""
    from data_prep.c2mnist import build

    out = tmp_path_factory.mktemp("c2mnist16")
    build(out, size=16, seed=0, n_train=24, n_val=8, n_test=8)
    return out


@pytest.fixture(scope="session")
def course_data():
    """The repository's data/c2mnist32, which the notebooks build when it is missing: built here
    once, under a lock, so that notebooks executed side by side (``pytest -n``, the default)
    never build it at the same time."""
    from filelock import FileLock

    from course import ensure_c2mnist

    data = Path(__file__).resolve().parents[1] / "data"
    data.mkdir(exist_ok=True)
    with FileLock(data / ".c2mnist32.lock"):
        ensure_c2mnist(str(data / "c2mnist32"))
    return data / "c2mnist32"


def pytest_collection_modifyitems(config, items):
    """Tests that write one shared folder of the repository run on one worker, one after the
    other (``--dist loadgroup``): notebooks 05 and 11 build data/shapes32, notebook 10 builds
    data/flowers-standin. The whole hostile-input table (marker ``hostile``) runs only when
    asked for (``-m hostile``); the default run keeps its quick sample."""
    if "hostile" not in (config.getoption("markexpr", "") or ""):

        def rest(item):  # a row of the table outside its quick sample
            case = item.callspec.params.get("case") if hasattr(item, "callspec") else None
            return item.get_closest_marker("hostile") and not getattr(case, "quick", True)

        whole = [item for item in items if rest(item)]
        if whole:
            config.hook.pytest_deselected(items=whole)
            items[:] = [item for item in items if not rest(item)]
    groups = {"05_": "data-shapes32", "11_": "data-shapes32", "10_": "data-flowers-standin"}
    for item in items:
        nb = item.callspec.params.get("path") if hasattr(item, "callspec") else None
        for prefix, group in groups.items():
            if nb is not None and Path(nb).name.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
