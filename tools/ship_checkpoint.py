"""Copy a trained run into checkpoints/ for sharing: config.json, metrics.jsonl (and the
self_train.json of a run made by ``python -m redo_lite self-train``) and best.pt with
the networks used after training (F, G, D). delta (the z-encoder) is left out: it serves only the
information-conservation loss during training, and without it the checkpoint stays small.

    python tools/ship_checkpoint.py runs/bench4/seed2 [--out checkpoints/c2mnist-cpu]

A README.md already in the destination is kept; the other files are replaced atomically.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from beyond.selftrain import SELF_TRAIN_RECORD  # noqa: E402
from redo_lite import checkpoint as ckpt  # noqa: E402
from redo_lite.run import load_run  # noqa: E402

SHIPPED_NETS = ("F", "G", "D")


def ship(run: Path, out: Path) -> Path:
    load_run(run)  # a run that does not load is not shipped
    state = ckpt.load(run / "best.pt")
    state["nets"] = {k: state["nets"][k] for k in SHIPPED_NETS}
    out.mkdir(parents=True, exist_ok=True)
    ckpt.atomic_save(state, out / "best.pt")
    for name in ("config.json", "metrics.jsonl", SELF_TRAIN_RECORD):
        if name == SELF_TRAIN_RECORD and not (run / name).is_file():
            continue  # a run made by train (self-train writes this record)
        ckpt.atomic_write_text(out / name, (run / name).read_text())
    load_run(out)  # and the copy loads too
    return out / "best.pt"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "checkpoints" / "c2mnist-cpu")
    a = ap.parse_args(argv)
    path = ship(a.run, a.out)
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB, networks {', '.join(SHIPPED_NETS)}")


if __name__ == "__main__":
    main()
