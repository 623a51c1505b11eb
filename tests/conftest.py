import importlib.util
from pathlib import Path

import pytest
import torch

from redo_lite.config import Config

torch.set_num_threads(1)


def tiny_config(**kw) -> Config:
    """A very small model for fast tests (16 px, 3 regions)."""
    base = dict(
        preset="tiny-test",
        size=16,
        regions=3,
        z_dim=4,
        f_channels=8,
        f_downs=1,
        f_res_blocks=1,
        g_channels=4,
        d_channels=4,
        batch=4,
        lr_f=1e-4,
        steps=6,
        eval_every=3,
        eval_images=8,
        log_every=2,
    )
    base.update(kw)
    return Config(**base)


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
