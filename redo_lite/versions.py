"""torch and torchvision must be built as a pair: the check after installing, and the one line
that names a mismatch with the pip line that fixes it.

    python3 -m redo_lite.versions      # prints the pair, or the mismatch and its fix (exit 2)

A mismatch shows up as ``RuntimeError: operator torchvision::nms does not exist`` (or another
failure inside ``import torchvision``): typically a CPU build of torch beside torchvision built
for CUDA, or two releases that do not belong together. Release 2.M.P of torch pairs with
torchvision 0.(M+15).P, from the same index (the local label ``+cpu``, ``+cu126``... names it).
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

CPU_INDEX = "https://download.pytorch.org/whl/{label}"


class TorchPairError(RuntimeError):
    """torch and torchvision are installed but do not work together (the message has the fix)."""


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def pair_of(torch_version: str) -> str | None:
    """The torchvision release built with this torch release (2.M.P -> 0.(M+15).P), or None."""
    m = re.match(r"2\.(\d+)\.(\d+)", torch_version)
    return f"0.{int(m.group(1)) + 15}.{m.group(2)}" if m else None


def fix_line(torch_version: str) -> str:
    """The one pip line that installs the torchvision matching this torch, from torch's index."""
    want = pair_of(torch_version)
    label = torch_version.partition("+")[2]
    index = f" --index-url {CPU_INDEX.format(label=label)}" if label else ""
    if want is None:
        return "python3 -m pip install --force-reinstall torch torchvision" + index
    return f"python3 -m pip install --force-reinstall --no-deps torchvision=={want}{index}"


def mismatch_line(cause: str = "") -> str:
    """One line: which torch and torchvision are installed, why they fail, and the fix."""
    tv, tvv = installed("torch") or "?", installed("torchvision") or "?"
    why = f" ({' '.join(cause.split())})" if cause else ""
    return (
        f"torch {tv} and torchvision {tvv} are not a working pair{why}; "
        f"fix: {fix_line(tv) if tv != '?' else 'python3 -m pip install torch torchvision'}"
    )


def is_pair_failure(err: BaseException) -> bool:
    """Whether ``err`` came out of ``import torchvision`` (or names one of its operators)."""
    if "torchvision::" in str(err):
        return True
    if isinstance(err, ModuleNotFoundError):
        return False  # torchvision missing altogether: pip install names that itself
    tb = err.__traceback__
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename.replace("\\", "/")
        if "/torchvision/" in path and tb.tb_frame.f_code.co_name == "<module>":
            return True
        tb = tb.tb_next
    return False


def check_torch_pair() -> str:
    """Import torch and torchvision; return their versions, or raise TorchPairError with one line
    naming the mismatch and its fix."""
    try:
        import torch
        import torchvision
    except Exception as e:  # noqa: BLE001 - any failure inside torchvision's import is the pair's
        if not is_pair_failure(e):
            raise
        raise TorchPairError(mismatch_line(f"{type(e).__name__}: {e}")) from None
    return f"torch {torch.__version__} and torchvision {torchvision.__version__} work together"


def main() -> int:
    try:
        print(check_torch_pair())
    except TorchPairError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
