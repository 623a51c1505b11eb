"""Checkpoints: written atomically (temp file, fsync, rename), read with ``weights_only=True``.

A run folder holds ``config.json``, ``last.pt`` (everything needed to resume exactly),
``best.pt`` (the networks at the best validation score) and ``metrics.jsonl``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    _fsync_replace(tmp, path)


def atomic_save(obj, path: Path) -> None:
    """torch.save to ``path`` so that a crash leaves either the old file or the new one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    _fsync_replace(tmp, path)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file."""


def load(path: Path) -> dict:
    """Load a checkpoint with ``weights_only=True``: tensors and plain containers only, never
    arbitrary pickled objects."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise CheckpointError(
            f"{path}: cannot load this checkpoint safely ({type(e).__name__}: "
            f"{str(e).splitlines()[0][:300]})"
        ) from None


def check_config(cfg, state: dict, path: Path, hint: str = "") -> None:
    """Refuse a checkpoint saved with other settings than ``cfg``, naming the file and the settings."""
    diff = cfg.differences(state.get("config", {})) if "config" in state else []
    if diff:
        raise CheckpointError(
            f"{path}: saved with preset {state['config'].get('preset')!r}, which differs "
            f"from {cfg.preset!r} in {', '.join(diff)}{hint}"
        )


def load_nets(nets: dict, states: dict, path: Path) -> None:
    """Load state_dicts into the networks; a shape or key mismatch names the file."""
    for name, net in nets.items():
        if name not in states:
            raise CheckpointError(f"{path}: has no weights for network {name!r}")
        try:
            net.load_state_dict(states[name])
        except RuntimeError as e:
            raise CheckpointError(
                f"{path}: weights for {name!r} do not fit this configuration; was it "
                f"trained with another preset? ({str(e).splitlines()[0][:200]})"
            ) from None
