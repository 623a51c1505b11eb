"""Running the course on Google Colab: what accelerator there is, and a run folder that outlives
the session.

A Colab machine and its ``/content`` disk are gone at the first disconnect; a folder on Google
Drive is not. The Trainer resumes a run folder exactly (networks, optimisers, random state, step
and log), so a training cell that writes to Drive continues where it stopped when the notebook is
opened and run again. Elsewhere (JupyterLab, a terminal) the run folder is the local one.

    from course.colab import device_report, run_dir
    print(device_report())                       # says what it found, and what to do without a GPU
    RUN = run_dir("flowers-paper")               # on Colab: offers to keep the run on Drive
"""

from __future__ import annotations

import sys
from pathlib import Path

DRIVE_MOUNT = "/content/drive"
DRIVE_FOLDER = "redo-course/runs"  # under MyDrive/


def on_colab() -> bool:
    """True inside a Colab notebook (its kernel imports ``google.colab`` at start)."""
    return "google.colab" in sys.modules


def device_report() -> str:
    """One paragraph on the accelerator torch sees: the GPU's name, memory and bf16 support, or
    that there is none and how to get one on Colab."""
    import torch

    if torch.cuda.is_available():
        i = torch.cuda.current_device()
        p = torch.cuda.get_device_properties(i)
        bf16 = "supports" if torch.cuda.is_bf16_supported() else "does not support"
        return (
            f"GPU: {p.name}, {p.total_memory / 2**30:.0f} GiB, compute capability "
            f"{p.major}.{p.minor}, {torch.cuda.device_count()} visible; it {bf16} bf16 autocast "
            f"(--amp). torch {torch.__version__}, CUDA {torch.version.cuda}."
        )
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return f"GPU: Apple MPS (torch {torch.__version__}); no bf16 autocast, run in fp32."
    hint = (
        "on Colab: Runtime > Change runtime type > a GPU, then run the notebook again"
        if on_colab()
        else "the CPU notebooks (00-09, 11) need none; notebook 10 runs a small stand-in"
    )
    return (
        f"no GPU: torch {torch.__version__} sees no CUDA or MPS device "
        f"(torch.cuda.is_available() is False); {hint}."
    )


def run_dir(
    name: str,
    local: str | Path = "runs",
    drive: bool | None = None,
    mount_point: str | Path = DRIVE_MOUNT,
    folder: str = DRIVE_FOLDER,
) -> Path:
    """The folder a run should live in. Off Colab: ``local/name``. On Colab, with ``drive`` None,
    asks whether to keep the run on Google Drive (``MyDrive/<folder>/<name>``); True mounts Drive
    without asking, False keeps the run on the session's disk. A run folder on Drive that already
    holds a checkpoint is resumed by the Trainer. The run folder itself is not created here (the
    Trainer makes it); its parent is."""
    local_path = Path(local) / name
    if not on_colab():
        return local_path
    if drive is None:
        question = f"Keep the run '{name}' on Google Drive, so that a new session resumes it?"
        answer = input(question + " [Y/n] ")
        drive = answer.strip().lower() not in ("n", "no")
    if not drive:
        print(f"run folder: {local_path} (on this Colab machine: lost at a disconnect)")
        return local_path
    from google.colab import drive as gdrive

    try:
        gdrive.mount(str(mount_point))  # Colab asks for permission in a pop-up
    except Exception as e:  # refused or failed: say so and keep going locally
        print(f"Google Drive not mounted ({e}); run folder: {local_path} (lost at a disconnect)")
        return local_path
    path = Path(mount_point) / "MyDrive" / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    state = "resumes from its last checkpoint" if (path / "last.pt").exists() else "new run"
    print(f"run folder on Google Drive: {path} ({state})")
    return path
