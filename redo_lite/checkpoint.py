"""Checkpoints: written atomically (temp file, fsync, rename), read with ``weights_only=True``.

A run folder holds ``config.json``, ``last.pt`` (everything needed to resume exactly),
``best.pt`` (the networks at the best validation score) and ``metrics.jsonl``.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from .files import WriteError, atomic_write, atomic_write_text, check_regular  # noqa: F401


def atomic_save(obj, path: Path, overwrite: bool = True) -> None:
    """torch.save to ``path`` so that a crash leaves either the old file or the new one; a failed
    write (disk full, read-only folder) raises WriteError and keeps the old file. With
    ``overwrite=False`` a file already at ``path`` is refused, not replaced."""
    path = Path(path)
    atomic_write(
        path,
        lambda f: torch.save(obj, f),
        keep=(
            f"the previous {path.name} is kept; free some space (or fix the folder) and run "
            "the same command again to resume from it"
            if path.exists()
            else "nothing was written"
        ),
        overwrite=overwrite,
    )


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file."""


def load(path: Path) -> dict:
    """Load a checkpoint with ``weights_only=True``: tensors and plain containers only, never
    arbitrary pickled objects."""
    path = Path(path)
    st = check_regular(path, "checkpoint", CheckpointError)
    if st.st_size == 0:
        raise CheckpointError(
            f"{path}: empty file (0 bytes), not a checkpoint; a copy or a write was cut short"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:  # the weights-only unpickler's refusal, shown whole
        raise CheckpointError(
            f"{path}: cannot load this checkpoint safely: it holds pickled Python objects, which "
            "could run code when loaded; "
            "redo_lite loads tensors and plain values only. torch says: " + " ".join(str(e).split())
        ) from None
    except Exception as e:  # truncated, corrupt, not a torch file at all
        detail = " ".join(str(e).split()) or "the file ends too early"
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated or corrupt?): {type(e).__name__}: "
            f"{detail}"
        ) from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: not a redo_lite checkpoint (a {type(state).__name__})")
    return state


def check_config(cfg, state: dict, path: Path, hint: str = "") -> None:
    """Refuse a checkpoint saved with other settings than ``cfg``, naming the file and the
    settings."""
    saved = state.get("config")
    diff = cfg.differences(saved) if isinstance(saved, dict) else []
    if diff:
        raise CheckpointError(
            f"{path}: saved with preset {saved.get('preset')!r}, which differs "
            f"from {cfg.preset!r} in {', '.join(diff)}{hint}"
        )


def load_nets(nets: dict, states: dict, path: Path) -> None:
    """Load state_dicts into the networks; a shape or key mismatch names the file."""
    if not isinstance(states, dict):
        raise CheckpointError(f"{path}: not a redo_lite checkpoint (its networks are missing)")
    for name, net in nets.items():
        if name not in states:
            raise CheckpointError(f"{path}: has no weights for network {name!r}")
        try:
            net.load_state_dict(states[name])
        except (RuntimeError, TypeError, AttributeError, KeyError) as e:
            first = (str(e).splitlines() or [""])[0]
            raise CheckpointError(
                f"{path}: weights for {name!r} do not fit this configuration; was it "
                f"trained with another preset? ({first})"
            ) from None


def require(state: dict, keys, path: Path) -> None:
    """Refuse a checkpoint that lacks entries a resume needs, naming the file and the entries."""
    missing = [k for k in keys if k not in state]
    if missing:
        raise CheckpointError(
            f"{path}: not a resumable redo_lite checkpoint (no {', '.join(map(repr, missing))}); "
            "a best.pt or a file from another program?"
        )
