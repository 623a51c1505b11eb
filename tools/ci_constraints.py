"""The constraints tools/setup.sh installs with: constraints-ci.txt, except that a working CPU build
of torch already installed (PyTorch's CPU wheels, version label ``+cpu``) stays, with its
torchvision. Without this, CI's pins would replace it with PyPI's torch, which on Linux is the CUDA
build (about 6 GB with its libraries, against a few hundred MB).

    python3 tools/ci_constraints.py OUT     # writes OUT, says on stderr what it kept and why
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def pair_works() -> bool:
    """Whether the installed torch and torchvision import together (redo_lite.versions)."""
    res = subprocess.run(
        [sys.executable, "-m", "redo_lite.versions"], cwd=ROOT, capture_output=True, text=True
    )
    return res.returncode == 0


def constraints(text: str, torch: str | None, torchvision: str | None, works: bool):
    """(constraints text, note): CI's pins, with torch and torchvision replaced by the installed
    ones when they are a working CPU build. The note says what was kept, or why not."""
    if not torch or not torch.endswith("+cpu"):
        return text, ""
    pins = dict(re.findall(r"^(torch|torchvision)==(\S+)", text, re.M))
    if not works or not torchvision:
        return text, (
            f"setup: torch {torch} and torchvision {torchvision} are not a working pair, so CI's "
            f"torch {pins.get('torch')} and torchvision {pins.get('torchvision')} are installed "
            "(on Linux PyPI's CUDA build, about 6 GB); to keep a CPU build instead, see "
            "python3 -m redo_lite.versions"
        )
    text = re.sub(r"^torch==\S+", f"torch=={torch}", text, flags=re.M)
    text = re.sub(r"^torchvision==\S+", f"torchvision=={torchvision}", text, flags=re.M)
    return text, (
        f"setup: keeps the CPU build torch {torch}, torchvision {torchvision} (CI pins torch "
        f"{pins.get('torch')}; PyPI's Linux build of it is the CUDA one, about 6 GB)"
    )


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    torch, torchvision = version("torch"), version("torchvision")
    works = torch is not None and torch.endswith("+cpu") and pair_works()
    text, note = constraints((ROOT / "constraints-ci.txt").read_text(), torch, torchvision, works)
    Path(argv[0]).write_text(text)
    if note:
        print(note, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
